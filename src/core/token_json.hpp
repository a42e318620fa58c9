// The JSON of a token's header or claims, read in one pass.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace oidc_logout {

/*
 * A JSON object as a JWS header or claims set holds it: its members, with
 * string values unescaped and numbers read; nested values are checked and
 * kept as written.  It accepts what jansson's loader accepts with
 * JSON_REJECT_DUPLICATES for an object, and refuses the rest: text that is
 * not UTF-8, control characters and \u0000 in strings, lone surrogates,
 * duplicate names at any depth, integers beyond 64 bits, reals beyond a
 * double, nesting deeper than 2048.  One exception: jansson drops a NUL
 * byte that follows a number or a literal, where this reader, as RFC 8259
 * asks, refuses the text.  It allocates a few buffers per object, not one
 * per value: a token is read on every logout that carries one.
 */
class TokenJson {
  public:
    enum class Kind { string, integer, real, boolean, null, array, object };
    struct Value {
        Kind kind = Kind::null;
        std::string_view text; /* strings unescaped; others as written */
        double number = 0;     /* integer and real */
        /* arrays of top-level members: their string elements, unescaped,
         * elements_[first, first + count); all_strings tells whether every
         * element is one */
        size_t first = 0;
        size_t count = 0;
        bool all_strings = false;
    };

    TokenJson() = default;
    /* the values are views into the object's own buffers */
    TokenJson(const TokenJson &) = delete;
    TokenJson &operator=(const TokenJson &) = delete;

    /* False, and no members, for anything but a well-formed JSON
     * object. */
    bool parse(std::string json);

    /* A top-level member, or nullptr. */
    const Value *get(std::string_view name) const;
    /* A top-level string member's value; empty when absent or no string. */
    std::string_view string(std::string_view name) const;
    /* The elements of an array value that are all strings. */
    bool strings(const Value &array, std::vector<std::string_view> &out) const;

  private:
    class Reader;
    struct Member {
        std::string_view name;
        Value value;
    };

    std::string text_;
    std::string unescaped_; /* capacity fixed before use: views stay valid */
    std::vector<Member> members_;
    std::vector<std::string_view> elements_;
};

} // namespace oidc_logout
