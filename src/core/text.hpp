// Escaping and encoding of text: HTML, percent-encoding, log-safe quoting.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace oidc_logout {

bool is_alpha(char c);
bool is_digit(char c);
bool is_hex_digit(char c);
int hex_value(char c);
char to_lower(char c);
std::string to_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);

/* RFC 3986 "unreserved": ALPHA / DIGIT / "-" / "." / "_" / "~". */
bool is_unreserved(char c);

/* Percent-encodes every byte that is not unreserved (upper-case hex). */
std::string percent_encode(std::string_view in);

/* Decodes an application/x-www-form-urlencoded component ("+" is a space).
 * False on bad percent-encoding. */
bool form_decode(std::string_view in, std::string &out);

/* base64url without padding (RFC 4648 section 5). */
std::string base64url_encode(const uint8_t *in, size_t n);
/* Decodes base64url without padding; false for any other character or a
 * length no encoding has. */
bool base64url_decode(std::string_view in, std::string &out);

/* Whether in is well-formed UTF-8 (no overlong forms, no surrogates). */
bool is_utf8(std::string_view in);

/* Escapes &, <, >, " and ' for HTML text and attribute values. */
std::string html_escape(std::string_view in);

/* Escapes text for a JSON string (quotes, backslashes, controls). */
std::string json_escape(std::string_view in);

/* A quoted, printable rendering of untrusted bytes for messages and logs:
 * non-printable bytes become \xHH, quotes and backslashes are escaped, and
 * text beyond max bytes is cut with "...". */
std::string quoted(std::string_view in, size_t max = 128);

} // namespace oidc_logout
