#include "random_id.hpp"

#include <openssl/rand.h>

namespace oidc_logout {

namespace {

const char alphabet[] =
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
    if (c == '_') {
        return 63;
    }
    return -1;
}

} // namespace

bool
random_bytes(uint8_t *out, size_t n)
{
    return RAND_bytes(out, static_cast<int>(n)) == 1;
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
            out += alphabet[(acc >> bits) & 0x3f];
        }
    }
    if (bits > 0) {
        out += alphabet[(acc << (6 - bits)) & 0x3f];
    }
    return out;
}

bool
decode_id(std::string_view text, uint8_t out[id_bytes])
{
    if (text.size() != id_text_length) {
        return false;
    }
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (char c : text) {
        int v = base64url_value(c);
        if (v < 0) {
            return false;
        }
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = static_cast<uint8_t>(acc >> bits);
        }
    }
    /* 22 characters carry 132 bits: the last 4 must be zero (canonical) */
    return n == id_bytes && (acc & ((1u << bits) - 1)) == 0;
}

} // namespace oidc_logout
