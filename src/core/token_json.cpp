#include "token_json.hpp"

#include "text.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <locale.h>

namespace oidc_logout {

namespace {

/* jansson's limit, which counts every value, the outer object included.
 * Each level is a recursion of about 250 bytes of stack: half a megabyte
 * at most, in the worker's main thread, whose stack is nginx's 8 MB. */
constexpr int max_depth = 2048;

bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Whether names holds a name twice; sorts it. */
bool
has_duplicate(std::vector<std::string_view> &names)
{
    std::sort(names.begin(), names.end());
    return std::adjacent_find(names.begin(), names.end()) != names.end();
}

} // namespace

class TokenJson::Reader {
  public:
    explicit Reader(TokenJson &doc)
        : doc_(doc), p_(doc.text_.data()), end_(p_ + doc.text_.size())
    {
    }

    bool
    document()
    {
        skip_space();
        if (p_ == end_ || *p_ != '{' || !object(1, true)) {
            return false;
        }
        skip_space();
        return p_ == end_;
    }

  private:
    void
    skip_space()
    {
        while (p_ != end_ && is_space(*p_)) {
            p_++;
        }
    }

    /* Steps over c and the space after it, when p_ is at c. */
    bool
    take(char c)
    {
        if (p_ == end_ || *p_ != c) {
            return false;
        }
        p_++;
        skip_space();
        return true;
    }

    /* After an element of a list closed by close: false at anything but a
     * comma or close; closed tells which it was. */
    bool
    separator(char close, bool &closed)
    {
        skip_space();
        closed = take(close);
        return closed || take(',');
    }

    bool
    literal(std::string_view word)
    {
        if (static_cast<size_t>(end_ - p_) < word.size() ||
            std::string_view(p_, word.size()) != word) {
            return false;
        }
        p_ += word.size();
        return true;
    }

    /* Four hex digits of a \u escape. */
    bool
    hex4(uint32_t &out)
    {
        if (end_ - p_ < 4) {
            return false;
        }
        out = 0;
        for (int i = 0; i < 4; i++) {
            int v = hex_value(*p_++);
            if (v < 0) {
                return false;
            }
            out = out << 4 | static_cast<uint32_t>(v);
        }
        return true;
    }

    void
    append_utf8(std::string &s, uint32_t cp)
    {
        if (cp < 0x80) {
            s += static_cast<char>(cp);
        } else if (cp < 0x800) {
            s += static_cast<char>(0xc0 | cp >> 6);
            s += static_cast<char>(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            s += static_cast<char>(0xe0 | cp >> 12);
            s += static_cast<char>(0x80 | (cp >> 6 & 0x3f));
            s += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
            s += static_cast<char>(0xf0 | cp >> 18);
            s += static_cast<char>(0x80 | (cp >> 12 & 0x3f));
            s += static_cast<char>(0x80 | (cp >> 6 & 0x3f));
            s += static_cast<char>(0x80 | (cp & 0x3f));
        }
    }

    /* A string at p_ (the opening quote).  Without escapes its view is
     * into the text; with them, into the unescaped buffer. */
    bool
    string(std::string_view &out)
    {
        const char *start = ++p_;
        while (p_ != end_ && *p_ != '"' && *p_ != '\\') {
            if (static_cast<unsigned char>(*p_) < 0x20) {
                return false;
            }
            p_++;
        }
        if (p_ == end_) {
            return false;
        }
        if (*p_ == '"') {
            out = std::string_view(start, static_cast<size_t>(p_ - start));
            p_++;
            return true;
        }

        std::string &buf = doc_.unescaped_;
        if (buf.capacity() < doc_.text_.size()) {
            /* no unescaped string is longer than the text: reserving it
             * all once keeps the views into the buffer valid */
            buf.reserve(doc_.text_.size());
        }
        size_t from = buf.size();
        buf.append(start, static_cast<size_t>(p_ - start));
        while (p_ != end_ && *p_ != '"') {
            char c = *p_++;
            if (static_cast<unsigned char>(c) < 0x20) {
                return false;
            }
            if (c != '\\') {
                buf += c;
                continue;
            }
            if (p_ == end_) {
                return false;
            }
            char e = *p_++;
            uint32_t cp;
            switch (e) {
            case '"':
            case '\\':
            case '/':
                buf += e;
                break;
            case 'b':
                buf += '\b';
                break;
            case 'f':
                buf += '\f';
                break;
            case 'n':
                buf += '\n';
                break;
            case 'r':
                buf += '\r';
                break;
            case 't':
                buf += '\t';
                break;
            case 'u':
                if (!hex4(cp) || cp == 0 || (cp >= 0xdc00 && cp <= 0xdfff)) {
                    return false;
                }
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    uint32_t low;
                    if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') {
                        return false;
                    }
                    p_ += 2;
                    if (!hex4(low) || low < 0xdc00 || low > 0xdfff) {
                        return false;
                    }
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                }
                append_utf8(buf, cp);
                break;
            default:
                return false;
            }
        }
        if (p_ == end_) {
            return false;
        }
        p_++;
        out = std::string_view(buf.data() + from, buf.size() - from);
        return true;
    }

    bool
    digits()
    {
        const char *start = p_;
        while (p_ != end_ && is_digit(*p_)) {
            p_++;
        }
        return p_ != start;
    }

    bool
    number(Value &v)
    {
        const char *start = p_;
        if (*p_ == '-') {
            p_++;
        }
        if (p_ == end_ || !is_digit(*p_)) {
            return false;
        }
        if (*p_ == '0') {
            p_++;
        } else {
            digits();
        }
        bool real = false;
        if (p_ != end_ && *p_ == '.') {
            p_++;
            real = true;
            if (!digits()) {
                return false;
            }
        }
        if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
            p_++;
            real = true;
            if (p_ != end_ && (*p_ == '+' || *p_ == '-')) {
                p_++;
            }
            if (!digits()) {
                return false;
            }
        }
        v.text = std::string_view(start, static_cast<size_t>(p_ - start));
        if (!real) {
            long long n;
            auto r = std::from_chars(start, p_, n);
            if (r.ec != std::errc() || r.ptr != p_) {
                return false; /* beyond 64 bits */
            }
            v.kind = Kind::integer;
            v.number = static_cast<double>(n);
            return true;
        }
        /* read in the C locale, whose decimal point JSON uses, whatever
         * locale another module of the process may have set */
        static const locale_t c_locale =
            newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(nullptr));
        std::string copy(v.text);
        errno = 0;
        char *read_to = nullptr;
        double d = c_locale ? strtod_l(copy.c_str(), &read_to, c_locale)
                            : std::strtod(copy.c_str(), &read_to);
        if (read_to != copy.c_str() + copy.size() ||
            (errno == ERANGE && std::isinf(d))) {
            return false; /* beyond a double; an underflow is accepted */
        }
        v.kind = Kind::real;
        v.number = d;
        return true;
    }

    /* A value at p_ into v; keep: v is a top-level member's (an array
     * then keeps its string elements). */
    bool
    value(int depth, Value &v, bool keep)
    {
        if (depth > max_depth || p_ == end_) {
            return false;
        }
        const char *start = p_;
        switch (*p_) {
        case '"':
            v.kind = Kind::string;
            return string(v.text);
        case '{':
            v.kind = Kind::object;
            if (!object(depth, false)) {
                return false;
            }
            break;
        case '[':
            v.kind = Kind::array;
            if (!array(depth, keep ? &v : nullptr)) {
                return false;
            }
            break;
        case 't':
        case 'f':
            v.kind = Kind::boolean;
            if (!literal(*p_ == 't' ? "true" : "false")) {
                return false;
            }
            break;
        case 'n':
            v.kind = Kind::null;
            if (!literal("null")) {
                return false;
            }
            break;
        default:
            return number(v);
        }
        v.text = std::string_view(start, static_cast<size_t>(p_ - start));
        return true;
    }

    /* An object at p_; the outer one keeps its members. */
    bool
    object(int depth, bool outer)
    {
        std::vector<std::string_view> names;
        p_++;
        skip_space();
        if (take('}')) {
            return true;
        }
        for (bool closed = false; !closed;) {
            std::string_view name;
            if (p_ == end_ || *p_ != '"' || !string(name)) {
                return false;
            }
            skip_space();
            if (!take(':')) {
                return false;
            }
            names.push_back(name);
            Value scratch;
            if (outer) {
                doc_.members_.push_back(Member{name, Value{}});
            }
            if (!value(depth + 1, outer ? doc_.members_.back().value : scratch,
                       outer) ||
                !separator('}', closed)) {
                return false;
            }
        }
        return !has_duplicate(names);
    }

    /* An array at p_; top, a top-level member's, keeps its string
     * elements. */
    bool
    array(int depth, Value *top)
    {
        if (top != nullptr) {
            top->first = doc_.elements_.size();
            top->all_strings = true;
        }
        p_++;
        skip_space();
        if (take(']')) {
            return true;
        }
        for (bool closed = false; !closed;) {
            Value element;
            if (!value(depth + 1, element, false)) {
                return false;
            }
            if (top != nullptr) {
                if (element.kind == Kind::string) {
                    doc_.elements_.push_back(element.text);
                    top->count++;
                } else {
                    top->all_strings = false;
                }
            }
            if (!separator(']', closed)) {
                return false;
            }
        }
        return true;
    }

    TokenJson &doc_;
    const char *p_;
    const char *end_;
};

bool
TokenJson::parse(std::string json)
{
    text_ = std::move(json);
    unescaped_.clear();
    members_.clear();
    elements_.clear();
    members_.reserve(16);
    if (!is_utf8(text_) || !Reader(*this).document()) {
        members_.clear();
        elements_.clear();
        return false;
    }
    return true;
}

const TokenJson::Value *
TokenJson::get(std::string_view name) const
{
    for (const Member &m : members_) {
        if (m.name == name) {
            return &m.value;
        }
    }
    return nullptr;
}

std::string_view
TokenJson::string(std::string_view name) const
{
    const Value *v = get(name);
    return v && v->kind == Kind::string ? v->text : std::string_view();
}

bool
TokenJson::strings(const Value &array, std::vector<std::string_view> &out) const
{
    if (array.kind != Kind::array || !array.all_strings) {
        return false;
    }
    out.assign(elements_.begin() + static_cast<std::ptrdiff_t>(array.first),
               elements_.begin() +
                   static_cast<std::ptrdiff_t>(array.first + array.count));
    return true;
}

} // namespace oidc_logout
