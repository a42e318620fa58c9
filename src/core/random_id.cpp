#include "random_id.hpp"

#include "text.hpp"

#include <cstring>
#include <stdexcept>
#include <openssl/rand.h>

namespace oidc_logout {

bool
random_bytes(uint8_t *out, size_t n)
{
    return RAND_bytes(out, static_cast<int>(n)) == 1;
}

std::string
random_id_text()
{
    uint8_t bytes[id_bytes];
    if (!random_bytes(bytes, sizeof(bytes))) {
        throw std::runtime_error("RAND_bytes failed");
    }
    return base64url_encode(bytes, sizeof(bytes));
}

bool
decode_id(std::string_view text, uint8_t out[id_bytes])
{
    std::string bytes;
    /* 22 characters carry 132 bits: only the canonical text is accepted */
    if (text.size() != id_text_length || !base64url_decode(text, bytes) ||
        bytes.size() != id_bytes ||
        base64url_encode(reinterpret_cast<const uint8_t *>(bytes.data()),
                         id_bytes) != text) {
        return false;
    }
    std::memcpy(out, bytes.data(), id_bytes);
    return true;
}

} // namespace oidc_logout
