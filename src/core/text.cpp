#include "text.hpp"

#include <cstring>

namespace oidc_logout {

namespace {

const char hex_upper[] = "0123456789ABCDEF";
const char base64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
base64url_value(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '-') {
        return 62;
    }
    return c == '_' ? 63 : -1;
}

} // namespace

bool
is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

bool
is_hex_digit(char c)
{
    return hex_value(c) >= 0;
}

int
hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

char
to_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string
to_lower(std::string_view s)
{
    std::string out(s);
    for (char &c : out) {
        c = to_lower(c);
    }
    return out;
}

bool
iequals(std::string_view a, std::string_view b)
{
    if (a.size() != b.size()) {
        return false;
    }
    for (size_t i = 0; i < a.size(); i++) {
        if (to_lower(a[i]) != to_lower(b[i])) {
            return false;
        }
    }
    return true;
}

bool
is_unreserved(char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

std::string
percent_encode(std::string_view in)
{
    std::string out;
    out.reserve(in.size() * 3);
    for (char c : in) {
        if (is_unreserved(c)) {
            out += c;
        } else {
            auto b = static_cast<unsigned char>(c);
            out += '%';
            out += hex_upper[b >> 4];
            out += hex_upper[b & 0xf];
        }
    }
    return out;
}

bool
form_decode(std::string_view in, std::string &out)
{
    out.resize(in.size());
    char *o = &out[0];
    const char *p = in.data();
    const char *end = p + in.size();
    /* the next "%" and "+", found by memchr and kept until passed: runs
     * between escapes are copied at once */
    const char *pct = nullptr;
    const char *plus = nullptr;
    while (p < end) {
        if (pct == nullptr || pct < p) {
            pct = static_cast<const char *>(
                std::memchr(p, '%', static_cast<size_t>(end - p)));
            pct = pct ? pct : end;
        }
        if (plus == nullptr || plus < p) {
            plus = static_cast<const char *>(
                std::memchr(p, '+', static_cast<size_t>(end - p)));
            plus = plus ? plus : end;
        }
        const char *next = pct < plus ? pct : plus;
        std::memcpy(o, p, static_cast<size_t>(next - p));
        o += next - p;
        p = next;
        if (p == end) {
            break;
        }
        if (*p == '+') {
            *o++ = ' ';
            p++;
            continue;
        }
        if (end - p < 3) {
            return false;
        }
        int hi = hex_value(p[1]);
        int lo = hex_value(p[2]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        *o++ = static_cast<char>(hi << 4 | lo);
        p += 3;
    }
    out.resize(static_cast<size_t>(o - out.data()));
    return true;
}

std::string
base64url_encode(const uint8_t *in, size_t n)
{
    std::string out;
    out.reserve((n * 4 + 2) / 3);
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += base64url_alphabet[(acc >> bits) & 0x3f];
        }
    }
    if (bits > 0) {
        out += base64url_alphabet[(acc << (6 - bits)) & 0x3f];
    }
    return out;
}

bool
base64url_decode(std::string_view in, std::string &out)
{
    static const struct Table {
        int8_t value[256];
        Table()
        {
            for (int c = 0; c < 256; c++) {
                value[c] =
                    static_cast<int8_t>(base64url_value(static_cast<char>(c)));
            }
        }
    } table;
    if (in.size() % 4 == 1) {
        return false;
    }
    out.resize(in.size() * 3 / 4);
    auto *o = reinterpret_cast<unsigned char *>(&out[0]);
    auto *s = reinterpret_cast<const unsigned char *>(in.data());
    const int8_t *t = table.value;
    size_t full = in.size() / 4 * 4;
    /* four characters, three bytes at a time; an invalid character's -1
     * makes the OR of the four negative */
    for (size_t i = 0; i < full; i += 4, o += 3) {
        int a = t[s[i]], b = t[s[i + 1]], c = t[s[i + 2]], d = t[s[i + 3]];
        if ((a | b | c | d) < 0) {
            return false;
        }
        uint32_t v = static_cast<uint32_t>(a << 18 | b << 12 | c << 6 | d);
        o[0] = static_cast<unsigned char>(v >> 16);
        o[1] = static_cast<unsigned char>(v >> 8);
        o[2] = static_cast<unsigned char>(v);
    }
    size_t rest = in.size() - full; /* 0, 2 or 3 characters */
    if (rest != 0) {
        int a = t[s[full]], b = t[s[full + 1]];
        int c = rest == 3 ? t[s[full + 2]] : 0;
        if ((a | b | c) < 0) {
            return false;
        }
        *o++ = static_cast<unsigned char>(a << 2 | b >> 4);
        if (rest == 3) {
            *o++ = static_cast<unsigned char>((b & 0xf) << 4 | c >> 2);
        }
    }
    return true;
}

bool
is_utf8(std::string_view in)
{
    size_t i = 0;
    while (i < in.size()) {
        auto c = static_cast<unsigned char>(in[i]);
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + n >= in.size()) {
            return false;
        }
        for (size_t k = 1; k <= n; k++) {
            auto cc = static_cast<unsigned char>(in[i + k]);
            if ((cc & 0xc0) != 0x80) {
                return false;
            }
            cp = cp << 6 | (cc & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        i += n + 1;
    }
    return true;
}

std::string
html_escape(std::string_view in)
{
    std::string out;
    out.reserve(in.size() + in.size() / 8);
    for (char c : in) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&#39;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

std::string
json_escape(std::string_view in)
{
    std::string out;
    out.reserve(in.size() + 8);
    for (char c : in) {
        auto b = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (b < 0x20) {
            out += "\\u00";
            out += hex_upper[b >> 4];
            out += hex_upper[b & 0xf];
        } else {
            out += c;
        }
    }
    return out;
}

std::string
quoted(std::string_view in, size_t max)
{
    std::string out = "\"";
    size_t n = in.size() < max ? in.size() : max;
    for (size_t i = 0; i < n; i++) {
        auto b = static_cast<unsigned char>(in[i]);
        if (b == '"' || b == '\\') {
            out += '\\';
            out += static_cast<char>(b);
        } else if (b < 0x20 || b >= 0x7f) {
            out += "\\x";
            out += hex_upper[b >> 4];
            out += hex_upper[b & 0xf];
        } else {
            out += static_cast<char>(b);
        }
    }
    if (n < in.size()) {
        out += "...";
    }
    out += '"';
    return out;
}

} // namespace oidc_logout
