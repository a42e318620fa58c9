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
    size_t i = 0;
    while (i < in.size()) {
        /* copy the run up to the next escape at once */
        size_t run = i;
        while (run < in.size() && in[run] != '%' && in[run] != '+') {
            run++;
        }
        std::memcpy(o, in.data() + i, run - i);
        o += run - i;
        i = run;
        if (i == in.size()) {
            break;
        }
        if (in[i] == '+') {
            *o++ = ' ';
            i++;
            continue;
        }
        if (i + 2 >= in.size()) {
            return false;
        }
        int hi = hex_value(in[i + 1]);
        int lo = hex_value(in[i + 2]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        *o++ = static_cast<char>(hi << 4 | lo);
        i += 3;
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
    char *o = &out[0];
    uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        int v = table.value[static_cast<unsigned char>(c)];
        if (v < 0) {
            return false;
        }
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            *o++ = static_cast<char>((acc >> bits) & 0xff);
        }
    }
    out.resize(static_cast<size_t>(o - out.data()));
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
