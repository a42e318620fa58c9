#include "jose.hpp"

#include "json.hpp"
#include "text.hpp"

#include <cjose/cjose.h>
#include <cstdlib>
#include <cstring>

namespace oidc_logout {

namespace {

struct JwsRelease {
    void
    operator()(cjose_jws_t *j) const
    {
        cjose_jws_release(j);
    }
};
using JwsPtr = std::unique_ptr<cjose_jws_t, JwsRelease>;

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
JsonPtr
decode_json_segment(std::string_view segment)
{
    std::string text;
    if (!base64url_decode(segment, text)) {
        return nullptr;
    }
    JsonPtr obj(
        json_loadb(text.data(), text.size(), JSON_REJECT_DUPLICATES, nullptr));
    if (!obj || !json_is_object(obj.get())) {
        return nullptr;
    }
    return obj;
}

std::string_view
without_trailing_slash(std::string_view s)
{
    if (!s.empty() && s.back() == '/') {
        s.remove_suffix(1);
    }
    return s;
}

bool
fail(std::string &reason, std::string text)
{
    reason = std::move(text);
    return false;
}

/* The client of verified claims: azp, or the single aud. */
bool
token_client(json_t *claims, std::string &client, std::string &reason)
{
    json_t *aud = json_object_get(claims, "aud");
    std::vector<std::string> audiences;
    if (json_is_string(aud)) {
        audiences.emplace_back(json_string_value(aud));
    } else if (json_is_array(aud)) {
        size_t i;
        json_t *a;
        json_array_foreach(aud, i, a)
        {
            if (!json_is_string(a)) {
                return fail(reason, "aud holds a value that is not a string");
            }
            audiences.emplace_back(json_string_value(a));
        }
    }
    if (audiences.empty()) {
        return fail(reason, "no aud");
    }
    json_t *azp = json_object_get(claims, "azp");
    if (azp != nullptr) {
        if (!json_is_string(azp)) {
            return fail(reason, "azp is not a string");
        }
        client = json_string_value(azp);
        for (const std::string &a : audiences) {
            if (a == client) {
                return true;
            }
        }
        return fail(reason, "azp is not one of the audiences");
    }
    if (audiences.size() != 1) {
        return fail(reason, "several audiences and no azp");
    }
    client = audiences[0];
    return true;
}

} // namespace

KeySet::~KeySet()
{
    for (Key &k : keys_) {
        cjose_jwk_release(k.jwk);
    }
}

std::unique_ptr<KeySet>
KeySet::from_json(json_t *root, const std::string &name, std::string &error)
{
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
    /* no reallocation once a cjose key is owned by the vector */
    set->keys_.reserve(json_array_size(list));
    JsonPtr pub(json_array());
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        std::string where = file + ": key #" + std::to_string(i + 1);
        if (!json_is_object(item)) {
            error = where + ": not a JSON object";
            return nullptr;
        }
        Key key;
        key.kid = string_member(item, "kid");
        key.kty = string_member(item, "kty");
        key.curve = string_member(item, "crv");
        if (!key.kid.empty()) {
            where += " (kid " + quoted(key.kid) + ")";
        }
        if (key.kty == "oct") {
            error = where + ": symmetric keys are not accepted";
            return nullptr;
        }
        if (key.kty != "RSA" && key.kty != "EC") {
            error = where + ": kty must be \"RSA\" or \"EC\"";
            return nullptr;
        }
        if (key.kty == "EC" && key.curve != "P-256" && key.curve != "P-384" &&
            key.curve != "P-521") {
            error = where + ": crv must be \"P-256\", \"P-384\" or \"P-521\"";
            return nullptr;
        }
        if (key.kty == "RSA") {
            std::string n;
            if (!base64url_decode(string_member(item, "n"), n) ||
                n.size() < 256) {
                error = where + ": RSA keys need a modulus of at least 2048 "
                                "bits";
                return nullptr;
            }
        }
        std::string use = string_member(item, "use");
        if (!use.empty() && use != "sig") {
            error = where + ": use must be \"sig\"";
            return nullptr;
        }
        std::string alg = string_member(item, "alg");
        if (!alg.empty() && (!alg_rule(alg) || !set->fits(key, alg))) {
            error = where + ": alg " + quoted(alg) + " does not fit the key";
            return nullptr;
        }
        for (const Key &other : set->keys_) {
            if (!key.kid.empty() && other.kid == key.kid) {
                error = where + ": duplicate kid";
                return nullptr;
            }
        }

        char *text = json_dumps(item, JSON_COMPACT);
        if (text == nullptr) {
            throw std::bad_alloc();
        }
        cjose_err err;
        cjose_jwk_t *jwk = cjose_jwk_import(text, std::strlen(text), &err);
        free(text);
        if (jwk == nullptr) {
            error = where + ": cjose_jwk_import failed: " +
                    (err.message ? err.message : "unknown error");
            return nullptr;
        }
        key.jwk = jwk;
        set->keys_.push_back(std::move(key));

        /* the public JWKS: the key as given, without private members */
        JsonPtr copy(json_deep_copy(item));
        for (const char *m : private_members) {
            json_object_del(copy.get(), m);
        }
        json_array_append(pub.get(), copy.get());
    }
    JsonPtr doc(json_pack("{s:O}", "keys", pub.get()));
    char *text = doc ? json_dumps(doc.get(), JSON_COMPACT) : nullptr;
    if (text == nullptr) {
        throw std::bad_alloc();
    }
    set->public_jwks_ = text;
    free(text);
    return set;
}

std::unique_ptr<KeySet>
KeySet::parse(std::string_view json, const std::string &name,
              std::string &error)
{
    JsonPtr root = json_read_text(json, name, error);
    return root ? from_json(root.get(), name, error) : nullptr;
}

std::unique_ptr<KeySet>
KeySet::load_file(const std::string &path, std::string &error)
{
    JsonPtr root = json_read_file(path, error);
    return root ? from_json(root.get(), path, error) : nullptr;
}

bool
KeySet::fits(const Key &key, std::string_view alg) const
{
    const AlgRule *rule = alg_rule(alg);
    return rule != nullptr && key.kty == rule->kty &&
           (rule->curve == nullptr || key.curve == rule->curve);
}

bool
KeySet::verify_hint(std::string_view token, std::string_view issuer,
                    const ClientRegistry *clients, int64_t now, Hint &out,
                    std::string &reason) const
{
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

    JsonPtr header = decode_json_segment(token.substr(0, dot1));
    if (!header) {
        return fail(reason, "malformed header");
    }
    std::string alg = string_member(header.get(), "alg");
    if (alg.empty() || alg == "none") {
        return fail(reason, "unsigned (alg none) tokens are never accepted");
    }
    if (alg.compare(0, 2, "HS") == 0) {
        return fail(reason, "HMAC (" + alg + ") tokens are never accepted");
    }
    if (alg_rule(alg) == nullptr) {
        return fail(reason, "unsupported alg " + quoted(alg));
    }
    if (json_object_get(header.get(), "crit") != nullptr) {
        return fail(reason, "unsupported critical header (crit)");
    }

    json_t *kid_value = json_object_get(header.get(), "kid");
    if (kid_value != nullptr && !json_is_string(kid_value)) {
        return fail(reason, "kid is not a string");
    }
    std::vector<const Key *> candidates;
    for (const Key &k : keys_) {
        if (kid_value != nullptr && k.kid != json_string_value(kid_value)) {
            continue;
        }
        if (fits(k, alg)) {
            candidates.push_back(&k);
        }
    }
    if (candidates.empty()) {
        return fail(reason, kid_value != nullptr
                                ? "no key of kid " +
                                      quoted(json_string_value(kid_value)) +
                                      " fits " + alg
                                : "no key fits " + alg);
    }

    cjose_err err;
    JwsPtr jws(cjose_jws_import(token.data(), token.size(), &err));
    if (!jws) {
        return fail(reason, std::string("cjose_jws_import failed: ") +
                                (err.message ? err.message : "unknown"));
    }
    bool verified = false;
    for (const Key *k : candidates) {
        if (cjose_jws_verify(jws.get(), k->jwk, &err)) {
            verified = true;
            break;
        }
    }
    if (!verified) {
        return fail(reason, "bad signature");
    }

    JsonPtr claims =
        decode_json_segment(token.substr(dot1 + 1, dot2 - dot1 - 1));
    if (!claims) {
        return fail(reason, "malformed claims");
    }
    std::string iss = string_member(claims.get(), "iss");
    if (without_trailing_slash(iss) != without_trailing_slash(issuer) ||
        issuer.empty()) {
        return fail(reason, "iss " + quoted(iss) + " is not the issuer");
    }
    if (!token_client(claims.get(), out.client_id, reason)) {
        return false;
    }
    if (clients == nullptr || clients->find(out.client_id) == nullptr) {
        return fail(reason,
                    "client " + quoted(out.client_id) + " is not registered");
    }
    json_t *iat = json_object_get(claims.get(), "iat");
    if (!json_is_number(iat)) {
        return fail(reason, "no iat");
    }
    if (json_number_value(iat) > static_cast<double>(now + iat_leeway)) {
        return fail(reason, "issued in the future (iat)");
    }
    json_t *sub = json_object_get(claims.get(), "sub");
    json_t *sid = json_object_get(claims.get(), "sid");
    if (!json_is_string(sub) || (sid != nullptr && !json_is_string(sid))) {
        return fail(reason, "sub (and sid, when present) must be strings");
    }
    out.sub = json_string_value(sub);
    out.sid = sid ? json_string_value(sid) : "";
    return true;
}

} // namespace oidc_logout
