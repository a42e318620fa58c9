// Random identifiers (OpenSSL's CSPRNG) and their base64url form.
#pragma once

#include "text.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace oidc_logout {

/* 128-bit identifiers: session ids and cookie handles. */
constexpr size_t id_bytes = 16;
/* Their base64url length, without padding. */
constexpr size_t id_text_length = 22;

/* Fills out with n bytes from OpenSSL's CSPRNG; false when it fails. */
bool random_bytes(uint8_t *out, size_t n);

/* A fresh random identifier as text (id_text_length characters); throws
 * when the generator fails. */
std::string random_id_text();

/* Decodes exactly id_text_length base64url characters into id_bytes
 * bytes; false for anything else. */
bool decode_id(std::string_view text, uint8_t out[id_bytes]);

} // namespace oidc_logout
