#include "jose.hpp"

#include "json.hpp"
#include "text.hpp"
#include "token_json.hpp"

#include <algorithm>
#include <cjose/cjose.h>
#include <iterator>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <cstdlib>
#include <cstring>

namespace oidc_logout {

namespace {

/* OpenSSL keeps the errors of a failed check in a per-thread queue, where
 * nginx would later find and log them as its own: they are cleared. */
struct ClearOpensslErrors {
    ~ClearOpensslErrors()
    {
        ERR_clear_error();
    }
};

struct OpensslFree {
    void
    operator()(EVP_MD_CTX *c) const
    {
        EVP_MD_CTX_free(c);
    }
    void
    operator()(EVP_PKEY_CTX *c) const
    {
        EVP_PKEY_CTX_free(c);
    }
    void
    operator()(EVP_PKEY *k) const
    {
        EVP_PKEY_free(k);
    }
    void
    operator()(OSSL_PARAM_BLD *b) const
    {
        OSSL_PARAM_BLD_free(b);
    }
    void
    operator()(OSSL_PARAM *p) const
    {
        OSSL_PARAM_free(p);
    }
    void
    operator()(BIGNUM *b) const
    {
        BN_free(b);
    }
};
template <typename T> using Owned = std::unique_ptr<T, OpensslFree>;

std::string string_member(json_t *obj, const char *name);

/* Pushes the number in base64url that is member of jwk as param; numbers
 * keeps it until the parameters are built. */
bool
push_number(OSSL_PARAM_BLD *bld, const char *param, json_t *jwk,
            const char *member, std::vector<Owned<BIGNUM>> &numbers)
{
    std::string bytes;
    if (!base64url_decode(string_member(jwk, member), bytes)) {
        return false;
    }
    numbers.emplace_back(
        BN_bin2bn(reinterpret_cast<const unsigned char *>(bytes.data()),
                  static_cast<int>(bytes.size()), nullptr));
    return numbers.back() &&
           OSSL_PARAM_BLD_push_BN(bld, param, numbers.back().get());
}

/*
 * The key of a JWK as an EVP_PKEY of OpenSSL's providers: its public
 * members, and with_private its private ones too (d, and for RSA the
 * primes and CRT members that are given).  The public key is built once:
 * verifying with it then costs the signature check and little more.
 */
EVP_PKEY *
jwk_pkey(json_t *jwk, const std::string &kty, const std::string &curve,
         bool with_private)
{
    /* JWK member, OpenSSL parameter */
    static const char *const rsa_private[][2] = {
        {"d", OSSL_PKEY_PARAM_RSA_D},
        {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
        {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},
        {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
        {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2},
        {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1}};
    Owned<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
    std::vector<Owned<BIGNUM>> numbers;
    std::string x, y, point;
    const char *type = kty == "RSA" ? "RSA" : "EC";
    if (!bld) {
        return nullptr;
    }
    if (kty == "RSA") {
        if (!push_number(bld.get(), OSSL_PKEY_PARAM_RSA_N, jwk, "n", numbers) ||
            !push_number(bld.get(), OSSL_PKEY_PARAM_RSA_E, jwk, "e", numbers)) {
            return nullptr;
        }
        for (const auto &m : rsa_private) {
            if (with_private && json_object_get(jwk, m[0]) != nullptr &&
                !push_number(bld.get(), m[1], jwk, m[0], numbers)) {
                return nullptr;
            }
        }
    } else {
        const char *group = curve == "P-256"   ? "prime256v1"
                            : curve == "P-384" ? "secp384r1"
                                               : "secp521r1";
        if (!base64url_decode(string_member(jwk, "x"), x) ||
            !base64url_decode(string_member(jwk, "y"), y)) {
            return nullptr;
        }
        point = "\x04" + x + y; /* an uncompressed point */
        if (!OSSL_PARAM_BLD_push_utf8_string(
                bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
            !OSSL_PARAM_BLD_push_octet_string(bld.get(),
                                              OSSL_PKEY_PARAM_PUB_KEY,
                                              point.data(), point.size()) ||
            (with_private && !push_number(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY,
                                          jwk, "d", numbers))) {
            return nullptr;
        }
    }
    Owned<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(bld.get()));
    Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    EVP_PKEY *pkey = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &pkey,
                          with_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                          params.get()) != 1) {
        return nullptr;
    }
    return pkey;
}

/* Whether a signature made with the private key priv verifies with pub. */
bool
signs_for(EVP_PKEY *priv, EVP_PKEY *pub)
{
    static const unsigned char input[] = "oidc_logout: key check";
    Owned<EVP_MD_CTX> signer(EVP_MD_CTX_new());
    Owned<EVP_MD_CTX> verifier(EVP_MD_CTX_new());
    std::string signature(static_cast<size_t>(EVP_PKEY_get_size(priv)), '\0');
    size_t len = signature.size();
    auto *sig = reinterpret_cast<unsigned char *>(&signature[0]);
    return signer && verifier &&
           EVP_DigestSignInit_ex(signer.get(), nullptr, "SHA256", nullptr,
                                 nullptr, priv, nullptr) == 1 &&
           EVP_DigestSign(signer.get(), sig, &len, input, sizeof(input)) == 1 &&
           EVP_DigestVerifyInit_ex(verifier.get(), nullptr, "SHA256", nullptr,
                                   nullptr, pub, nullptr) == 1 &&
           EVP_DigestVerify(verifier.get(), sig, len, input, sizeof(input)) ==
               1;
}

/*
 * Why the private members of a JWK are not the private half of the key its
 * public members make (empty when they are): OpenSSL's check of the key
 * pair (RSA: d, the primes and the CRT members against n and e; EC: d
 * against the point).  An RSA key given by d alone, which OpenSSL cannot
 * check, must make a signature that the public key verifies.
 */
std::string
private_key_problem(json_t *jwk, const std::string &kty,
                    const std::string &curve, EVP_PKEY *pub)
{
    Owned<EVP_PKEY> pair(jwk_pkey(jwk, kty, curve, true));
    if (!pair) {
        return "OpenSSL refused the private key";
    }
    if (kty == "RSA" && json_object_get(jwk, "p") == nullptr) {
        return signs_for(pair.get(), pub)
                   ? ""
                   : "d does not match n and e: a signature made with it "
                     "does not verify";
    }
    Owned<EVP_PKEY_CTX> ctx(
        EVP_PKEY_CTX_new_from_pkey(nullptr, pair.get(), nullptr));
    if (!ctx) {
        throw std::bad_alloc();
    }
    return EVP_PKEY_check(ctx.get()) == 1
               ? ""
               : "EVP_PKEY_check failed: the private members do not match the "
                 "public ones";
}

/* Appends an unsigned big-endian number as a DER INTEGER (shortest, with
 * a zero byte ahead of a high bit; at most 67 bytes: a short length). */
void
der_integer(std::string_view n, std::string &der)
{
    while (n.size() > 1 && n[0] == '\0') {
        n.remove_prefix(1);
    }
    bool pad = (static_cast<unsigned char>(n[0]) & 0x80) != 0;
    der += '\x02';
    der += static_cast<char>(n.size() + pad);
    if (pad) {
        der += '\0';
    }
    der += n;
}

/* A JOSE ECDSA signature (r || s, halves of the curve's size) in the DER
 * form OpenSSL verifies: SEQUENCE { INTEGER r, INTEGER s }. */
void
ecdsa_der(std::string_view raw, std::string &der)
{
    std::string body;
    der_integer(raw.substr(0, raw.size() / 2), body);
    der_integer(raw.substr(raw.size() / 2), body);
    der = "\x30";
    if (body.size() >= 0x80) {
        der += '\x81'; /* P-521's can reach 138 bytes */
    }
    der += static_cast<char>(body.size());
    der += body;
}

/* The digests of the algorithms, fetched from OpenSSL's providers once. */
const EVP_MD *
fetched_md(std::string_view bits)
{
    static EVP_MD *sha[3] = {EVP_MD_fetch(nullptr, "SHA256", nullptr),
                             EVP_MD_fetch(nullptr, "SHA384", nullptr),
                             EVP_MD_fetch(nullptr, "SHA512", nullptr)};
    return bits == "256" ? sha[0] : bits == "384" ? sha[1] : sha[2];
}

/* A context that verifies digests with pkey under alg, or nullptr. */
EVP_PKEY_CTX *
prepare_verifier(EVP_PKEY *pkey, std::string_view alg)
{
    const EVP_MD *md = fetched_md(alg.substr(2));
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr);
    if (ctx == nullptr || md == nullptr || EVP_PKEY_verify_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx, md) != 1 ||
        (alg[0] == 'P' &&
         (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
          EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) !=
              1))) {
        EVP_PKEY_CTX_free(ctx);
        return nullptr;
    }
    return ctx;
}

/* Verifies signature over input with a prepared context of alg. */
bool
verify_signature(EVP_PKEY_CTX *verifier, std::string_view alg,
                 std::string_view input, std::string_view signature)
{
    std::string_view bits = alg.substr(2);
    std::string der;
    if (alg[0] == 'E') {
        /* r and s of the curve's size: 32, 48 or 66 bytes each */
        size_t half = bits == "256" ? 32 : bits == "384" ? 48 : 66;
        if (signature.size() != 2 * half) {
            return false;
        }
        ecdsa_der(signature, der);
        signature = der;
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    return EVP_Digest(input.data(), input.size(), digest, &digest_len,
                      fetched_md(bits), nullptr) == 1 &&
           EVP_PKEY_verify(
               verifier,
               reinterpret_cast<const unsigned char *>(signature.data()),
               signature.size(), digest, digest_len) == 1;
}

/* Members of a JWK that hold private key material (RFC 7518 6.2.2, 6.3.2,
 * 6.4.1). */
const char *const private_members[] = {"d",  "p",  "q",   "dp",
                                       "dq", "qi", "oth", "k"};

/* The signature algorithms accepted, by key type. */
struct AlgRule {
    const char *alg;
    const char *kty;
    const char *curve; /* EC only */
};
const AlgRule alg_rules[] = {
    {"RS256", "RSA", nullptr}, {"RS384", "RSA", nullptr},
    {"RS512", "RSA", nullptr}, {"PS256", "RSA", nullptr},
    {"PS384", "RSA", nullptr}, {"PS512", "RSA", nullptr},
    {"ES256", "EC", "P-256"},  {"ES384", "EC", "P-384"},
    {"ES512", "EC", "P-521"},
};

const AlgRule *
alg_rule(std::string_view alg)
{
    for (const AlgRule &r : alg_rules) {
        if (alg == r.alg) {
            return &r;
        }
    }
    return nullptr;
}

std::string
string_member(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    return json_is_string(v)
               ? std::string(json_string_value(v), json_string_length(v))
               : std::string();
}

/* Decodes one base64url segment holding a JSON object. */
bool
decode_json_segment(std::string_view segment, TokenJson &out)
{
    std::string text;
    return base64url_decode(segment, text) && out.parse(std::move(text));
}

std::string_view
without_trailing_slash(std::string_view s)
{
    if (!s.empty() && s.back() == '/') {
        s.remove_suffix(1);
    }
    return s;
}

/* The client of verified claims: azp, or the single aud. */
bool
token_client(const TokenJson &claims, Hint &out, std::string &reason)
{
    std::vector<std::string_view> audiences;
    if (!token_audiences(claims, audiences, reason)) {
        return false;
    }
    if (const TokenJson::Value *azp = claims.get("azp")) {
        if (azp->kind != TokenJson::Kind::string) {
            return fail(reason, "azp is not a string");
        }
        out.client_id = azp->text;
        for (std::string_view a : audiences) {
            if (a == azp->text) {
                return true;
            }
        }
        return fail(reason, "azp is not one of the audiences");
    }
    if (audiences.size() != 1) {
        return fail(reason, "several audiences and no azp");
    }
    out.client_id = audiences[0];
    return true;
}

} // namespace

bool
fail(std::string &reason, std::string text)
{
    reason = std::move(text);
    return false;
}

bool
check_issuer(const TokenJson &claims, std::string_view issuer,
             std::string &reason)
{
    std::string_view iss = claims.string("iss");
    if (without_trailing_slash(iss) != without_trailing_slash(issuer) ||
        issuer.empty()) {
        return fail(reason, "iss " + quoted(iss) + " is not the issuer");
    }
    return true;
}

bool
token_audiences(const TokenJson &claims, std::vector<std::string_view> &out,
                std::string &reason)
{
    out.clear();
    if (const TokenJson::Value *aud = claims.get("aud")) {
        if (aud->kind == TokenJson::Kind::string) {
            out.push_back(aud->text);
        } else if (aud->kind == TokenJson::Kind::array &&
                   !claims.strings(*aud, out)) {
            return fail(reason, "aud holds a value that is not a string");
        }
    }
    if (out.empty()) {
        return fail(reason, "no aud");
    }
    return true;
}

bool
check_iat(const TokenJson &claims, int64_t now, double &iat,
          std::string &reason)
{
    const TokenJson::Value *v = claims.get("iat");
    if (v == nullptr || (v->kind != TokenJson::Kind::integer &&
                         v->kind != TokenJson::Kind::real)) {
        return fail(reason, "no iat");
    }
    if (v->number > static_cast<double>(now + iat_leeway)) {
        return fail(reason, "issued in the future (iat)");
    }
    iat = v->number;
    return true;
}

KeySet::Key::~Key()
{
    cjose_jwk_release(jwk);
    for (EVP_PKEY_CTX *v : verifier) {
        EVP_PKEY_CTX_free(v);
    }
    EVP_PKEY_free(pkey);
}

bool
KeySet::add_key(json_t *given, bool published, std::string &error)
{
    /* a published key's private members, if any, are never used */
    JsonPtr stripped(published ? json_deep_copy(given) : nullptr);
    if (published) {
        if (!stripped) {
            throw std::bad_alloc();
        }
        for (const char *m : private_members) {
            json_object_del(stripped.get(), m);
        }
    }
    json_t *item = published ? stripped.get() : given;

    auto key = std::make_shared<Key>();
    key->kid = string_member(item, "kid");
    key->kty = string_member(item, "kty");
    key->curve = string_member(item, "crv");
    if (string_member(given, "kty") == "oct") {
        error = "symmetric keys are not accepted";
        return false;
    }
    if (key->kty != "RSA" && key->kty != "EC") {
        error = "kty must be \"RSA\" or \"EC\"";
        return false;
    }
    if (key->kty == "EC" && key->curve != "P-256" && key->curve != "P-384" &&
        key->curve != "P-521") {
        error = "crv must be \"P-256\", \"P-384\" or \"P-521\"";
        return false;
    }
    if (key->kty == "RSA") {
        std::string n;
        /* leading zero bytes add no bits */
        size_t zeros = 0;
        if (!base64url_decode(string_member(item, "n"), n) ||
            (zeros = n.find_first_not_of('\0')) == std::string::npos ||
            n.size() - zeros < 256) {
            error = "RSA keys need a modulus of at least 2048 bits";
            return false;
        }
    }
    std::string use = string_member(item, "use");
    if (!use.empty() && use != "sig") {
        error = "use must be \"sig\"";
        return false;
    }
    std::string alg = string_member(item, "alg");
    key->alg = alg;
    if (!alg.empty() && (!alg_rule(alg) || !fits(*key, alg))) {
        error = "alg " + quoted(alg) + " does not fit the key";
        return false;
    }
    for (const auto &other : keys_) {
        /* a provider may give one kid to keys of several types */
        if (!published && !key->kid.empty() && other->kid == key->kid) {
            error = "duplicate kid";
            return false;
        }
    }

    char *text = json_dumps(item, JSON_COMPACT);
    if (text == nullptr) {
        throw std::bad_alloc();
    }
    cjose_err err;
    key->jwk = cjose_jwk_import(text, std::strlen(text), &err);
    free(text);
    if (key->jwk == nullptr) {
        error = std::string("cjose_jwk_import failed: ") +
                (err.message ? err.message : "unknown error");
        return false;
    }
    key->pkey = jwk_pkey(item, key->kty, key->curve, false);
    if (key->pkey == nullptr) {
        error = "OpenSSL refused the public key";
        return false;
    }
    if (json_object_get(item, "d") != nullptr) {
        key->sign_alg = !alg.empty()            ? alg
                        : key->kty == "RSA"     ? "RS256"
                        : key->curve == "P-256" ? "ES256"
                        : key->curve == "P-384" ? "ES384"
                                                : "ES512";
        std::string problem =
            private_key_problem(item, key->kty, key->curve, key->pkey);
        if (!problem.empty()) {
            error = "inconsistent private key: " + problem;
            return false;
        }
    }
    for (size_t r = 0; r < std::size(alg_rules); r++) {
        if (fits(*key, alg_rules[r].alg)) {
            key->verifier[r] = prepare_verifier(key->pkey, alg_rules[r].alg);
            if (key->verifier[r] == nullptr) {
                error = std::string("OpenSSL cannot verify ") +
                        alg_rules[r].alg + " with the key";
                return false;
            }
        }
    }

    if (!key->sign_alg.empty() && signer_ == nullptr) {
        /* a key that cannot sign fails now, not at the first logout */
        signer_ = key.get();
        try {
            sign("{}", "JWT");
        } catch (const std::runtime_error &e) {
            signer_ = nullptr;
            error =
                "cannot sign " + key->sign_alg + " with the key: " + e.what();
            return false;
        }
    }

    /* the public JWKS: the key as given, without private members */
    JsonPtr copy(json_deep_copy(item));
    for (const char *m : private_members) {
        json_object_del(copy.get(), m);
    }
    text = copy ? json_dumps(copy.get(), JSON_COMPACT) : nullptr;
    if (text == nullptr) {
        throw std::bad_alloc();
    }
    key->public_json = text;
    free(text);

    keys_.push_back(std::move(key));
    return true;
}

void
KeySet::make_public_jwks()
{
    public_jwks_ = "{\"keys\":[";
    for (size_t i = 0; i < keys_.size(); i++) {
        public_jwks_ += (i ? "," : "") + keys_[i]->public_json;
    }
    public_jwks_ += "]}";
}

std::unique_ptr<KeySet>
KeySet::from_json(json_t *root, const std::string &name, bool published,
                  size_t &skipped, std::string &error)
{
    ClearOpensslErrors clear_errors;
    std::string file = quoted(name, 1024);
    json_t *list = json_object_get(root, "keys");
    if (!json_is_object(root) || !json_is_array(list)) {
        error = file + ": expected a JWKS, {\"keys\": [...]}";
        return nullptr;
    }
    if (json_array_size(list) == 0) {
        error = file + ": no keys";
        return nullptr;
    }
    std::unique_ptr<KeySet> set(new KeySet());
    std::string first_skipped;
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        std::string where = file + ": key #" + std::to_string(i + 1);
        std::string problem;
        if (!json_is_object(item)) {
            problem = "not a JSON object";
        } else {
            std::string kid = string_member(item, "kid");
            if (!kid.empty()) {
                where += " (kid " + quoted(kid) + ")";
            }
            set->add_key(item, published, problem);
        }
        if (problem.empty()) {
            continue;
        }
        if (!published) {
            error = where + ": " + problem;
            return nullptr;
        }
        skipped++;
        if (first_skipped.empty()) {
            first_skipped = where + ": " + problem;
        }
    }
    if (set->keys_.empty()) {
        error =
            file + ": no key that verifies signatures (" + first_skipped + ")";
        return nullptr;
    }
    set->make_public_jwks();
    return set;
}

std::unique_ptr<KeySet>
KeySet::parse(std::string_view json, const std::string &name,
              std::string &error)
{
    size_t skipped = 0;
    JsonPtr root = json_read_text(json, name, error);
    return root ? from_json(root.get(), name, false, skipped, error) : nullptr;
}

std::unique_ptr<KeySet>
KeySet::parse_published(std::string_view json, const std::string &name,
                        size_t &skipped, std::string &error)
{
    skipped = 0;
    JsonPtr root = json_read_text(json, name, error);
    return root ? from_json(root.get(), name, true, skipped, error) : nullptr;
}

std::unique_ptr<KeySet>
KeySet::load_file(const std::string &path, std::string &error)
{
    size_t skipped = 0;
    JsonPtr root = json_read_file(path, error);
    return root ? from_json(root.get(), path, false, skipped, error) : nullptr;
}

std::unique_ptr<KeySet>
KeySet::merge(const KeySet *own, const KeySet *fetched, std::string missing)
{
    std::unique_ptr<KeySet> set(new KeySet());
    for (const KeySet *from : {fetched, own}) {
        if (from != nullptr) {
            set->keys_.insert(set->keys_.end(), from->keys_.begin(),
                              from->keys_.end());
        }
    }
    set->signer_ = own != nullptr ? own->signer_ : nullptr;
    set->missing_ = std::move(missing);
    set->make_public_jwks();
    return set;
}

bool
KeySet::fits(const Key &key, std::string_view alg)
{
    const AlgRule *rule = alg_rule(alg);
    return rule != nullptr && key.kty == rule->kty &&
           (rule->curve == nullptr || key.curve == rule->curve) &&
           (key.alg.empty() || key.alg == alg);
}

bool
KeySet::verify_hint(std::string_view token, std::string_view issuer,
                    const ClientRegistry *clients, int64_t now, Hint &out,
                    std::string &reason) const
{
    return verify_hint(token, issuer, clients, now, out, reason, nullptr);
}

bool
KeySet::verify_hint(std::string_view token, std::string_view issuer,
                    const ClientRegistry *clients, int64_t now, Hint &out,
                    std::string &reason, bool *unknown_kid) const
{
    std::string payload, typ;
    return verify_jws(token, payload, typ, reason, unknown_kid) &&
           check_claims(std::move(payload), issuer, clients, now, out, reason);
}

bool
KeySet::verify_jws(std::string_view token, std::string &payload,
                   std::string &typ, std::string &reason, bool *unknown_kid,
                   bool signer_only) const
{
    ClearOpensslErrors clear_errors;
    if (token.size() > max_token_length) {
        return fail(reason, "longer than " + std::to_string(max_token_length) +
                                " bytes");
    }
    size_t dot1 = token.find('.');
    size_t dot2 =
        dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos ||
        token.find('.', dot2 + 1) != std::string_view::npos) {
        return fail(reason, "not a signed JWT (three dot-separated parts)");
    }

    TokenJson header;
    if (!decode_json_segment(token.substr(0, dot1), header)) {
        return fail(reason, "malformed header");
    }
    std::string_view alg = header.string("alg");
    if (alg.empty() || alg == "none") {
        return fail(reason, "unsigned (alg none) tokens are never accepted");
    }
    if (alg.substr(0, 2) == "HS") {
        return fail(reason,
                    "HMAC (" + quoted(alg) + ") tokens are never accepted");
    }
    const AlgRule *rule = alg_rule(alg);
    if (rule == nullptr) {
        return fail(reason, "unsupported alg " + quoted(alg));
    }
    if (header.get("crit") != nullptr) {
        return fail(reason, "unsupported critical header (crit)");
    }

    const TokenJson::Value *kid = header.get("kid");
    if (kid != nullptr && kid->kind != TokenJson::Kind::string) {
        return fail(reason, "kid is not a string");
    }
    auto candidate = [&](const std::shared_ptr<const Key> &k) {
        return (!signer_only || k.get() == signer_) &&
               (kid == nullptr || k->kid == kid->text) && fits(*k, alg);
    };
    if (std::none_of(keys_.begin(), keys_.end(), candidate)) {
        if (unknown_kid != nullptr && kid != nullptr) {
            *unknown_kid =
                std::none_of(keys_.begin(), keys_.end(), [&](const auto &k) {
                    return k->kid == kid->text;
                });
        }
        return fail(reason,
                    (kid != nullptr ? "no key of kid " + quoted(kid->text) +
                                          " fits " + std::string(alg)
                                    : "no key fits " + std::string(alg)) +
                        (missing_.empty() ? "" : "; " + missing_));
    }

    std::string signature;
    if (!base64url_decode(token.substr(dot2 + 1), signature)) {
        return fail(reason, "malformed signature");
    }
    bool verified = false;
    for (const auto &k : keys_) {
        if (candidate(k) &&
            verify_signature(k->verifier[rule - alg_rules], alg,
                             token.substr(0, dot2), signature)) {
            verified = true;
            break;
        }
    }
    if (!verified) {
        return fail(reason, "bad signature");
    }
    if (!base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1), payload)) {
        return fail(reason, "malformed claims");
    }
    const TokenJson::Value *t = header.get("typ");
    typ = t != nullptr ? std::string(t->text) : std::string();
    return true;
}

bool
KeySet::check_claims(std::string claims_json, std::string_view issuer,
                     const ClientRegistry *clients, int64_t now, Hint &out,
                     std::string &reason)
{
    TokenJson claims;
    if (!claims.parse(std::move(claims_json))) {
        return fail(reason, "malformed claims");
    }
    double iat = 0;
    if (!check_issuer(claims, issuer, reason) ||
        !token_client(claims, out, reason)) {
        return false;
    }
    if (clients == nullptr || clients->find(out.client_id) == nullptr) {
        return fail(reason,
                    "client " + quoted(out.client_id) + " is not registered");
    }
    if (!check_iat(claims, now, iat, reason)) {
        return false;
    }
    const TokenJson::Value *sub = claims.get("sub");
    const TokenJson::Value *sid = claims.get("sid");
    if (sub == nullptr || sub->kind != TokenJson::Kind::string ||
        (sid != nullptr && sid->kind != TokenJson::Kind::string)) {
        return fail(reason, "sub (and sid, when present) must be strings");
    }
    out.sub = sub->text;
    out.sid = sid ? sid->text : "";
    return true;
}

bool
KeySet::read_direct(std::string_view token, std::string_view issuer,
                    const ClientRegistry *clients, int64_t now, Hint &out,
                    std::string &reason)
{
    size_t dot1 = token.find('.');
    size_t dot2 =
        dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (token.size() > max_token_length || dot2 == std::string_view::npos ||
        token.find('.', dot2 + 1) != std::string_view::npos) {
        return fail(reason, "not a JWT (three dot-separated parts)");
    }
    std::string claims;
    if (!base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1), claims)) {
        return fail(reason, "malformed claims");
    }
    return check_claims(std::move(claims), issuer, clients, now, out, reason);
}

const std::string &
KeySet::signing_alg() const
{
    static const std::string none;
    return signer_ ? signer_->sign_alg : none;
}

std::string
KeySet::sign(std::string_view payload, std::string_view typ) const
{
    if (signer_ == nullptr) {
        throw std::runtime_error("no private key");
    }
    ClearOpensslErrors clear_errors;
    cjose_err err;
    cjose_header_t *header = cjose_header_new(&err);
    if (header == nullptr) {
        throw std::bad_alloc();
    }
    std::string typ_text(typ);
    const char *failed = nullptr;
    if (!cjose_header_set(header, CJOSE_HDR_ALG, signer_->sign_alg.c_str(),
                          &err) ||
        (!signer_->kid.empty() &&
         !cjose_header_set(header, CJOSE_HDR_KID, signer_->kid.c_str(),
                           &err)) ||
        !cjose_header_set(header, "typ", typ_text.c_str(), &err)) {
        failed = "cjose_header_set";
    }
    cjose_jws_t *jws =
        failed
            ? nullptr
            : cjose_jws_sign(signer_->jwk, header,
                             reinterpret_cast<const uint8_t *>(payload.data()),
                             payload.size(), &err);
    cjose_header_release(header);
    const char *compact = nullptr;
    if (failed == nullptr && jws == nullptr) {
        failed = "cjose_jws_sign";
    } else if (jws != nullptr && !cjose_jws_export(jws, &compact, &err)) {
        failed = "cjose_jws_export";
    }
    if (failed != nullptr) {
        cjose_jws_release(jws);
        throw std::runtime_error(std::string(failed) + " failed: " +
                                 (err.message ? err.message : "unknown"));
    }
    std::string out(compact);
    cjose_jws_release(jws);
    return out;
}

} // namespace oidc_logout
