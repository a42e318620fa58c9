// Signing keys (JWKS, cjose) and the verification of id_token_hint.
#pragma once

#include "client_registry.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

typedef struct _cjose_jwk_int cjose_jwk_t;   /* as in <cjose/jwk.h> */
typedef struct evp_pkey_st EVP_PKEY;         /* as in <openssl/types.h> */
typedef struct evp_pkey_ctx_st EVP_PKEY_CTX; /* as in <openssl/types.h> */
struct json_t;

namespace oidc_logout {

class TokenJson;

/* Longest token accepted, in bytes. */
constexpr size_t max_token_length = 16384;
/* How far in the future a token's iat may be, in seconds (clock skew). */
constexpr int64_t iat_leeway = 60;

/* What a verified id_token_hint says. */
struct Hint {
    std::string client_id; /* azp, or the single aud */
    std::string sub;
    std::string sid; /* empty when the token has none */
};

class KeySet {
  public:
    KeySet() = default;
    KeySet(const KeySet &) = delete;
    KeySet &operator=(const KeySet &) = delete;
    ~KeySet() = default;

    /* nullptr and error ("<file>: key #n (kid ...): reason") when the JWKS
     * is unusable. */
    static std::unique_ptr<KeySet> load_file(const std::string &path,
                                             std::string &error);
    static std::unique_ptr<KeySet>
    parse(std::string_view json, const std::string &name, std::string &error);
    /*
     * A provider's published JWKS: private members are ignored (its keys
     * never sign), duplicate kids are kept, and a key that cannot verify a
     * signature here (use other than "sig", another kty, curve or alg, a
     * short RSA modulus, a malformed member) is skipped and counted in
     * skipped.  nullptr and error when the document is not a JWKS or no
     * key is left.
     */
    static std::unique_ptr<KeySet> parse_published(std::string_view json,
                                                   const std::string &name,
                                                   size_t &skipped,
                                                   std::string &error);
    /*
     * The keys of own (may be nullptr) and of fetched (may be nullptr)
     * together, sharing their parsed keys: own's signing key stays the
     * only one that signs; the public JWKS lists fetched's keys, then
     * own's.  missing, when not empty, says why keys are absent: a hint
     * that no key verifies carries it in its reason.
     */
    static std::unique_ptr<KeySet>
    merge(const KeySet *own, const KeySet *fetched, std::string missing);

    /*
     * Verifies an id_token_hint: signature by one of the keys (the token's
     * kid selects it; alg must fit it; none and HMAC are refused), iss
     * equal to issuer (a trailing "/" aside), the client (azp, or aud) a
     * registered one, iat not in the future.  Expiry is not checked: an
     * expired hint still says who logs out.
     */
    bool verify_hint(std::string_view token, std::string_view issuer,
                     const ClientRegistry *clients, int64_t now, Hint &out,
                     std::string &reason) const;
    /* The same; *unknown_kid is set when the token names a kid that no
     * key of the set has (the provider may have rotated its keys). */
    bool verify_hint(std::string_view token, std::string_view issuer,
                     const ClientRegistry *clients, int64_t now, Hint &out,
                     std::string &reason, bool *unknown_kid) const;

    /*
     * The signature of a compact JWS, as verify_hint checks it: at most
     * max_token_length bytes, signed by one of the keys (the token's kid
     * selects it; alg must fit it; none, HMAC and crit are refused).
     * payload receives the decoded payload (not yet read as JSON), typ the
     * header's typ: "" when absent, a value that is no string as written.
     * *unknown_kid as verify_hint sets it.
     */
    bool verify_jws(std::string_view token, std::string &payload,
                    std::string &typ, std::string &reason, bool *unknown_kid,
                    bool signer_only = false) const;

    /*
     * The claims of an ID token that nginx got straight from the
     * provider's token endpoint, whose signature need not be checked (the
     * channel vouches for it, OpenID Connect Core 1.0 §3.1.3.7): iss,
     * the client (azp, or aud) a registered one, iat, sub and sid as
     * verify_hint checks them.
     */
    static bool read_direct(std::string_view token, std::string_view issuer,
                            const ClientRegistry *clients, int64_t now,
                            Hint &out, std::string &reason);

    /* Whether a key of the set is private: the first such key signs. */
    bool
    can_sign() const
    {
        return signer_ != nullptr;
    }
    /* The signing key's alg (its own, or RS256 for RSA and ES256, ES384
     * or ES512 for the EC curves). */
    const std::string &signing_alg() const;
    /* A compact JWS of payload signed by the signing key, its header
     * holding alg, kid (when the key has one) and typ.  Throws on
     * failure. */
    std::string sign(std::string_view payload, std::string_view typ) const;

    size_t
    size() const
    {
        return keys_.size();
    }
    /* The public keys as a JWKS (private members removed). */
    const std::string &
    public_jwks() const
    {
        return public_jwks_;
    }

  private:
    /* The checks of a hint's claims, their JSON text. */
    static bool check_claims(std::string claims_json, std::string_view issuer,
                             const ClientRegistry *clients, int64_t now,
                             Hint &out, std::string &reason);
    struct Key {
        Key() = default;
        Key(const Key &) = delete;
        Key &operator=(const Key &) = delete;
        ~Key();

        cjose_jwk_t *jwk = nullptr;
        EVP_PKEY *pkey = nullptr;
        /* verification contexts ready for each algorithm that fits the
         * key (by position in the table of algorithms), made at load time:
         * a check then costs a digest and the signature operation */
        EVP_PKEY_CTX *verifier[9] = {};
        std::string kid;
        std::string kty;   /* "RSA" or "EC" */
        std::string curve; /* EC: "P-256", "P-384" or "P-521" */
        std::string alg;   /* the key's own "alg": the only one it verifies */
        std::string sign_alg;    /* private keys: what they sign with */
        std::string public_json; /* as given, private members removed */
    };

    /* published: parse_published's rules; skipped counts what they skip */
    static std::unique_ptr<KeySet> from_json(json_t *root,
                                             const std::string &name,
                                             bool published, size_t &skipped,
                                             std::string &error);
    /* The key of item, appended; false and error when it is unusable. */
    bool add_key(json_t *item, bool published, std::string &error);
    static bool fits(const Key &key, std::string_view alg);
    void make_public_jwks();

    /* shared with the sets merged from this one */
    std::vector<std::shared_ptr<const Key>> keys_;
    const Key *signer_ = nullptr;
    std::string public_jwks_;
    std::string missing_; /* why keys are absent, for a hint's reason */
};

/* Checks of claims that every kind of token shares: false, and the reason,
 * when the claim fails. */

/* reason = text; false: a refusal in one statement. */
bool fail(std::string &reason, std::string text);

/* iss equal to issuer, a trailing "/" aside; an empty issuer matches no
 * token. */
bool check_issuer(const TokenJson &claims, std::string_view issuer,
                  std::string &reason);
/* aud, a string or an array of strings: its values, at least one. */
bool token_audiences(const TokenJson &claims,
                     std::vector<std::string_view> &out, std::string &reason);
/* iat, a number not later than now + iat_leeway, into iat. */
bool check_iat(const TokenJson &claims, int64_t now, double &iat,
               std::string &reason);

} // namespace oidc_logout
