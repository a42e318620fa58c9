/*
 * Signing keys and id_token_hint verification (ol_keys_*, ol_hint_verify),
 * with tokens minted here from keys generated here.
 */

#include "check_suites.h"

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ISSUER "https://sso.example.com"
#define NOW 1700000000

static cjose_jwk_t *rsa_old, *rsa_new, *rsa_stranger, *ec256, *ec384, *ec521;
static ol_keys *keys;
static ol_clients *clients;

static void
set_kid(cjose_jwk_t *k, const char *kid)
{
    cjose_err err;

    ck_assert(cjose_jwk_set_kid(k, kid, strlen(kid), &err));
}

/* {"keys": [...]} of the given keys, private parts included. */
static char *
jwks_of(cjose_jwk_t **list, size_t n)
{
    json_t *arr = json_array();
    char *text;
    size_t i;
    cjose_err err;

    for (i = 0; i < n; i++) {
        char *k = cjose_jwk_to_json(list[i], true, &err);
        ck_assert_ptr_nonnull(k);
        json_array_append_new(arr, json_loads(k, 0, NULL));
        free(k);
    }
    json_t *doc = json_pack("{s:o}", "keys", arr);

    text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

static void
setup_keys(void)
{
    cjose_err err;
    cjose_jwk_t *all[5];
    char *jwks, e[1024];

    rsa_old = cjose_jwk_create_RSA_random(2048, NULL, 0, &err);
    rsa_new = cjose_jwk_create_RSA_random(2048, NULL, 0, &err);
    rsa_stranger = cjose_jwk_create_RSA_random(2048, NULL, 0, &err);
    ec256 = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
    ec384 = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_384, &err);
    ec521 = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_521, &err);
    set_kid(rsa_old, "old");
    set_kid(rsa_new, "new");
    set_kid(rsa_stranger, "new"); /* same kid, not in the JWKS */
    set_kid(ec256, "ec256");
    set_kid(ec384, "ec384");
    set_kid(ec521, "ec521");
    all[0] = rsa_old;
    all[1] = rsa_new;
    all[2] = ec256;
    all[3] = ec384;
    all[4] = ec521;
    jwks = jwks_of(all, 5);
    ck_assert_msg(ol_keys_parse(jwks, strlen(jwks), "keys.json", &keys, e,
                                sizeof(e)) == OL_OK,
                  "%s", e);
    free(jwks);
    clients = clients_from("[{\"client_id\": \"app1\"}, "
                           "{\"client_id\": \"app2\"}]");
}

static void
teardown_keys(void)
{
    ol_keys_free(keys);
    ol_clients_free(clients);
    cjose_jwk_release(rsa_old);
    cjose_jwk_release(rsa_new);
    cjose_jwk_release(rsa_stranger);
    cjose_jwk_release(ec256);
    cjose_jwk_release(ec384);
    cjose_jwk_release(ec521);
}

static const char *good_claims =
    "{\"iss\": \"" ISSUER "\", \"sub\": \"alice\", \"aud\": \"app1\","
    " \"iat\": 1699990000, \"exp\": 1699993600, \"sid\": \"s-123\"}";

static ol_status
verify(const char *token, ol_hint *hint, char *err, size_t errlen)
{
    return ol_hint_verify(keys, ISSUER, strlen(ISSUER), clients, token,
                          strlen(token), NOW, hint, err, errlen);
}

/* Asserts the token is refused with a reason containing why. */
static void
assert_refused(const char *token, const char *why)
{
    ol_hint hint;
    char err[256] = "";

    ck_assert_msg(verify(token, &hint, err, sizeof(err)) == OL_INVALID,
                  "accepted: %.80s", token);
    ck_assert_msg(strstr(err, why) != NULL, "\"%s\" does not say \"%s\"", err,
                  why);
}

START_TEST(test_jose_valid_hint)
{
    ol_hint hint;
    char err[256] = "";
    char *t = mint_token(rsa_new, "RS256", good_claims);

    /* exp is long past: an expired hint still says who logs out */
    ck_assert_msg(verify(t, &hint, err, sizeof(err)) == OL_OK, "%s", err);
    ck_assert_str_eq(hint.client_id, "app1");
    ck_assert_str_eq(hint.sub, "alice");
    ck_assert_str_eq(hint.sid, "s-123");
    free(t);
}
END_TEST

START_TEST(test_jose_every_algorithm)
{
    static const struct {
        cjose_jwk_t **key;
        const char *alg;
    } cases[] = {
        {&rsa_new, "RS384"}, {&rsa_new, "RS512"}, {&rsa_new, "PS256"},
        {&rsa_new, "PS384"}, {&rsa_new, "PS512"}, {&ec256, "ES256"},
        {&ec384, "ES384"},   {&ec521, "ES512"},
    };
    ol_hint hint;
    char err[256];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *t = mint_token(*cases[i].key, cases[i].alg, good_claims);
        ck_assert_msg(verify(t, &hint, err, sizeof(err)) == OL_OK, "%s: %s",
                      cases[i].alg, err);
        free(t);
    }
}
END_TEST

/* The first byte of r and of s in the signature of a compact ES256 JWS. */
static void
ecdsa_first_bytes(const char *token, unsigned char *r0, unsigned char *s0)
{
    char b64[96];
    unsigned char raw[72];
    const char *sig = strrchr(token, '.') + 1;
    size_t i, n = strlen(sig);

    ck_assert_uint_eq(n, 86); /* 64 bytes */
    for (i = 0; i < n; i++) {
        b64[i] = sig[i] == '-' ? '+' : sig[i] == '_' ? '/' : sig[i];
    }
    memcpy(b64 + n, "==", 3);
    ck_assert_int_eq(EVP_DecodeBlock(raw, (unsigned char *)b64, 88), 66);
    *r0 = raw[0];
    *s0 = raw[32];
}

START_TEST(test_jose_ecdsa_encodings)
{
    /* OpenSSL verifies DER, where r and s lose leading zero bytes and gain
     * one ahead of a high bit: signatures are made until each case has
     * come up (a zero byte does once in 256), and every one verifies */
    int high_r = 0, high_s = 0, zero_r = 0, zero_s = 0, tries = 0;

    while (!(high_r && high_s && zero_r && zero_s) && tries++ < 5000) {
        unsigned char r0, s0;
        ol_hint hint;
        char err[256] = "";
        char *t = mint_token(ec256, "ES256", good_claims);

        ecdsa_first_bytes(t, &r0, &s0);
        ck_assert_msg(verify(t, &hint, err, sizeof(err)) == OL_OK,
                      "r starts %02x, s %02x: %s", r0, s0, err);
        high_r |= r0 >= 0x80;
        high_s |= s0 >= 0x80;
        zero_r |= r0 == 0;
        zero_s |= s0 == 0;
        free(t);
    }
    ck_assert(high_r && high_s && zero_r && zero_s);
}
END_TEST

START_TEST(test_jose_rotated_key)
{
    ol_hint hint;
    char err[256];
    char *t = mint_token(rsa_old, "RS256", good_claims);

    ck_assert_msg(verify(t, &hint, err, sizeof(err)) == OL_OK, "%s", err);
    free(t);
}
END_TEST

START_TEST(test_jose_wrong_key)
{
    char *t = mint_token(rsa_stranger, "RS256", good_claims);

    ERR_clear_error();
    assert_refused(t, "bad signature");
    /* nothing left in OpenSSL's error queue for nginx to find and log */
    ck_assert_uint_eq(ERR_peek_error(), 0);
    free(t);
}
END_TEST

START_TEST(test_jose_unknown_kid)
{
    cjose_err err;
    char *t;

    set_kid(rsa_stranger, "retired");
    t = mint_token(rsa_stranger, "RS256", good_claims);
    assert_refused(t, "no key of kid \"retired\" fits RS256");
    free(t);
    set_kid(rsa_stranger, "new");
    (void)err;
}
END_TEST

START_TEST(test_jose_alg_must_fit_key)
{
    /* an EC kid with an RSA algorithm */
    char *t =
        forge_token("{\"alg\":\"RS256\",\"kid\":\"ec256\"}", good_claims, NULL);

    assert_refused(t, "no key of kid \"ec256\" fits RS256");
    free(t);
    t = mint_token(ec384, "ES256", good_claims);
    assert_refused(t, "fits ES256");
    free(t);
}
END_TEST

START_TEST(test_jose_alg_none)
{
    char *t = forge_token("{\"alg\":\"none\"}", good_claims, NULL);

    assert_refused(t, "alg none");
    free(t);
    t = forge_token("{\"alg\":\"none\",\"kid\":\"new\"}", good_claims, NULL);
    assert_refused(t, "alg none");
    free(t);
    t = forge_token("{\"kid\":\"new\"}", good_claims, NULL);
    assert_refused(t, "alg none");
    free(t);
}
END_TEST

START_TEST(test_jose_hmac_with_public_key)
{
    cjose_err err;
    char *pub = cjose_jwk_to_json(rsa_new, false, &err);
    char *t =
        forge_token("{\"alg\":\"HS256\",\"kid\":\"new\"}", good_claims, pub);

    assert_refused(t, "HMAC (\"HS256\") tokens are never accepted");
    free(t);
    free(pub);
}
END_TEST

START_TEST(test_jose_hmac_with_client_secret)
{
    char *t =
        forge_token("{\"alg\":\"HS256\"}", good_claims, "app1-client-secret");

    assert_refused(t, "HMAC (\"HS256\") tokens are never accepted");
    free(t);
    t = forge_token("{\"alg\":\"HS512\"}", good_claims, "app1-client-secret");
    assert_refused(t, "HMAC");
    free(t);
}
END_TEST

START_TEST(test_jose_malformed)
{
    char *t = mint_token(rsa_new, "RS256", good_claims);
    char *dot = strchr(t, '.');

    assert_refused("", "three dot-separated parts");
    assert_refused("a.b", "three dot-separated parts");
    assert_refused("a.b.c.d.e", "three dot-separated parts");
    assert_refused("*.*.*", "malformed header");
    assert_refused("e30.e30.", "alg none");
    /* a bad character in the signature */
    t[strlen(t) - 2] = '*';
    assert_refused(t, "");
    /* claims that are not base64url */
    memcpy(t, "eyJ", 3);
    dot[1] = '!';
    assert_refused(t, "");
    free(t);

    /* each position of a four-character group, the two- and three-
     * character tails, and a length no encoding has */
    t = mint_token(rsa_new, "RS256", good_claims);
    size_t len = strlen(t), k;
    for (k = 1; k <= 8; k++) {
        char c = t[len - k];
        t[len - k] = k % 2 ? '=' : '+';
        assert_refused(t, "malformed signature");
        t[len - k] = c;
    }
    t[len - 1] = '\0'; /* 341 characters: 341 % 4 == 1 */
    assert_refused(t, "malformed signature");
    free(t);
    /* headers whose encodings end in two and three characters, read
     * whole, and one with a character too many */
    assert_refused("eyJhbGciOiJFUzIifQ.e30.AA", "unsupported alg \"ES2\"");
    assert_refused("eyJhbGciOiJFUzI1In0.e30.AA", "unsupported alg \"ES25\"");
    assert_refused("eyJhbGciOiJFUzI1In0A.e30.AA", "malformed header");
}
END_TEST

START_TEST(test_jose_oversized)
{
    char *claims = malloc(20000);
    char *t;

    snprintf(claims, 20000,
             "{\"iss\": \"" ISSUER "\", \"sub\": \"alice\", \"aud\": \"app1\","
             " \"iat\": 1699990000, \"pad\": \"%012000d\"}",
             0);
    t = mint_token(rsa_new, "RS256", claims);
    ck_assert_uint_gt(strlen(t), 16384);
    assert_refused(t, "longer than 16384 bytes");
    free(t);
    free(claims);
}
END_TEST

START_TEST(test_jose_crit_header)
{
    cjose_err err;
    cjose_header_t *h = cjose_header_new(&err);
    cjose_jws_t *jws;
    const char *compact;

    cjose_header_set(h, CJOSE_HDR_ALG, "RS256", &err);
    cjose_header_set(h, CJOSE_HDR_KID, "new", &err);
    ck_assert(cjose_header_set_raw(h, "crit", "[\"exp\"]", &err));
    jws = cjose_jws_sign(rsa_new, h, (const uint8_t *)good_claims,
                         strlen(good_claims), &err);
    ck_assert_ptr_nonnull(jws);
    cjose_jws_export(jws, &compact, &err);
    assert_refused(compact, "unsupported critical header");
    cjose_jws_release(jws);
    cjose_header_release(h);
}
END_TEST

static const struct {
    const char *claims;
    const char *why;
} bad_claims[] = {
    {"{\"iss\": \"https://evil.example.com\", \"sub\": \"a\", \"aud\": "
     "\"app1\", \"iat\": 1}",
     "is not the issuer"},
    {"{\"sub\": \"a\", \"aud\": \"app1\", \"iat\": 1}", "is not the issuer"},
    {"{\"iss\": \"" ISSUER "\", \"sub\": \"a\", \"aud\": \"app9\", \"iat\": 1}",
     "client \"app9\" is not registered"},
    {"{\"iss\": \"" ISSUER "\", \"sub\": \"a\", \"iat\": 1}", "no aud"},
    {"{\"iss\": \"" ISSUER "\", \"sub\": \"a\", \"aud\": [\"app1\", "
     "\"app2\"], \"iat\": 1}",
     "several audiences and no azp"},
    {"{\"iss\": \"" ISSUER "\", \"sub\": \"a\", \"aud\": [\"app1\"], \"azp\": "
     "\"app2\", \"iat\": 1}",
     "azp is not one of the audiences"},
    {"{\"iss\": \"" ISSUER "\", \"sub\": \"a\", \"aud\": \"app1\"}", "no iat"},
    {"{\"iss\": \"" ISSUER "\", \"sub\": \"a\", \"aud\": \"app1\", \"iat\": "
     "1700000100}",
     "issued in the future"},
    {"{\"iss\": \"" ISSUER "\", \"aud\": \"app1\", \"iat\": 1}",
     "sub (and sid, when present) must be strings"},
    {"{\"iss\": \"" ISSUER "\", \"sub\": \"a\", \"aud\": \"app1\", \"iat\": "
     "1, \"sid\": 5}",
     "must be strings"},
};

START_TEST(test_jose_bad_claims)
{
    char *t = mint_token(rsa_new, "RS256", bad_claims[_i].claims);

    assert_refused(t, bad_claims[_i].why);
    free(t);
}
END_TEST

START_TEST(test_jose_claims_accepted)
{
    static const char *const ok[] = {
        /* a trailing slash of iss is tolerated */
        "{\"iss\": \"" ISSUER "/\", \"sub\": \"a\", \"aud\": \"app1\", "
        "\"iat\": 1}",
        /* several audiences with azp */
        "{\"iss\": \"" ISSUER "\", \"sub\": \"a\", \"aud\": [\"app1\", "
        "\"api\"], \"azp\": \"app1\", \"iat\": 1}",
        /* iat within the leeway */
        "{\"iss\": \"" ISSUER "\", \"sub\": \"a\", \"aud\": \"app1\", "
        "\"iat\": 1700000050}",
    };
    ol_hint hint;
    char err[256];
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char *t = mint_token(rsa_new, "RS256", ok[i]);
        ck_assert_msg(verify(t, &hint, err, sizeof(err)) == OL_OK, "%s: %s",
                      ok[i], err);
        ck_assert_str_eq(hint.client_id, "app1");
        ck_assert_str_eq(hint.sid, "");
        free(t);
    }
}
END_TEST

/*
 * The JSON of claims and headers is read by the module's own reader, which
 * must accept exactly what jansson (JSON_REJECT_DUPLICATES) accepts as an
 * object.  Each case states its verdict, and jansson must agree with it.
 */
#define BASE_CLAIMS                                                            \
    "\"iss\":\"" ISSUER "\",\"sub\":\"alice\",\"aud\":\"app1\","               \
    "\"iat\":1699990000"

static int
jansson_object(const char *text, size_t len)
{
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    int object = j != NULL && json_is_object(j);

    json_decref(j);
    return object;
}

/* Verifies a hint of claims (len bytes) signed by ec256. */
static ol_status
verify_claims(const char *claims, size_t len, ol_hint *hint, char *err,
              size_t errlen)
{
    char *t = mint_token_n(ec256, "ES256", claims, len);
    ol_status st = verify(t, hint, err, errlen);

    free(t);
    return st;
}

/* The next value of a fixed pseudo-random sequence (the C standard's
 * example generator): the same damage on every run. */
static unsigned
next_random(unsigned *state)
{
    *state = *state * 1103515245 + 12345;
    return *state >> 16;
}

/* Signs claims with ec256 and asserts the hint is accepted when valid and
 * refused as malformed claims when not. */
static void
assert_module_verdict(const char *claims, size_t len, int valid)
{
    ol_hint hint;
    char err[256] = "";
    ol_status st = verify_claims(claims, len, &hint, err, sizeof(err));

    if (valid) {
        ck_assert_msg(st == OL_OK, "refused (%s): %.*s", err, (int)len, claims);
        ck_assert_str_eq(hint.sub, "alice");
    } else {
        ck_assert_msg(st == OL_INVALID && strstr(err, "malformed claims"),
                      "not refused as malformed (%s): %.*s", err, (int)len,
                      claims);
    }
}

/* The same, once jansson has given the same verdict. */
static void
assert_claims_verdict(const char *claims, size_t len, int valid)
{
    ck_assert_msg(jansson_object(claims, len) == valid,
                  "jansson disagrees with the case: %.*s", (int)len, claims);
    assert_module_verdict(claims, len, valid);
}

static const struct {
    const char *value; /* of an extra member "x" */
    int valid;
} json_values[] = {
    {"0", 1},
    {"-0", 1},
    {"1.5", 1},
    {"-1.5e10", 1},
    {"1E+2", 1},
    {"2e-400", 1}, /* an underflow is zero */
    {"9223372036854775807", 1},
    {"-9223372036854775808", 1},
    {"true", 1},
    {"false", 1},
    {"null", 1},
    {"\"\"", 1},
    {"\"\\u00e9\\ud83d\\ude00\"", 1},
    {"\"\\\\\\/\\b\\f\\n\\r\\t\\\"\"", 1},
    {"\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", 1},
    {"\"\xef\xbf\xbe\"", 1},
    {"[]", 1},
    {"{}", 1},
    {" \t\r\n[ 1 , [ 2 , { \"a\" : [ 3 ] } ] ] ", 1},
    {"{\"a\":1,\"b\":{\"a\":2}}", 1},
    {"[\"app1\",1,{}]", 1},
    {"01", 0},
    {"1.", 0},
    {".5", 0},
    {"+1", 0},
    {"-", 0},
    {"1e", 0},
    {"1e+", 0},
    {"-a", 0},
    {"9223372036854775808", 0},
    {"-9223372036854775809", 0},
    {"1e400", 0},
    {"-1e400", 0},
    {"tru", 0},
    {"truex", 0},
    {"nul", 0},
    {"True", 0},
    {"NaN", 0},
    {"Infinity", 0},
    {"'a'", 0},
    {"\"\x01\"", 0},
    {"\"a\tb\"", 0},
    {"\"\\u0000\"", 0},
    {"\"\\ud800\"", 0},
    {"\"\\udc00\"", 0},
    {"\"\\ud800\\u0041\"", 0},
    {"\"\\ud800x\"", 0},
    {"\"\\x\"", 0},
    {"\"\\u12\"", 0},
    {"\"\\u12G4\"", 0},
    {"\"abc", 0},
    {"\"\\", 0},
    {"[1,]", 0},
    {"[,1]", 0},
    {"[1 2]", 0},
    {"{\"a\":1,}", 0},
    {"{\"a\" 1}", 0},
    {"{a:1}", 0},
    {"{\"a\"}", 0},
    {"{1:2}", 0},
    {"{\"a\":1,\"a\":2}", 0},
    {"{\"a\":1,\"\\u0061\":2}", 0},
    {"[{\"k\":[],\"k\":{}}]", 0},
    {"\"\xff\"", 0},
    {"\"\xc0\xaf\"", 0},
    {"\"\xed\xa0\x80\"", 0},
    {"\"\xf4\x90\x80\x80\"", 0},
    {"\"\xc3\"", 0},
    {"[", 0},
    {"]", 0},
    {"", 0},
    {"1 2", 0},
};

START_TEST(test_jose_claims_json)
{
    char claims[256];
    int n = snprintf(claims, sizeof(claims), "{" BASE_CLAIMS ",\"x\":%s}",
                     json_values[_i].value);

    assert_claims_verdict(claims, (size_t)n, json_values[_i].valid);
}
END_TEST

START_TEST(test_jose_claims_documents)
{
    static const char doc[] = "{" BASE_CLAIMS "}";
    static const struct {
        const char *before, *after;
        int valid;
    } cases[] = {
        {" \n", "\r\n\t ", 1}, {"", " x", 0},           {"", "{}", 0},
        {"[", "]", 0},         {"\xef\xbb\xbf", "", 0}, {"", ",", 0},
        {"\"a\":", "", 0},
    };
    char buf[512];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int n = snprintf(buf, sizeof(buf), "%s%s%s", cases[i].before, doc,
                         cases[i].after);
        assert_claims_verdict(buf, (size_t)n, cases[i].valid);
    }
    /* a NUL after the object, and a member named twice at the top */
    memcpy(buf, doc, sizeof(doc));
    assert_claims_verdict(buf, sizeof(doc), 0);
    /* jansson drops a NUL that follows a number or a literal; the module
     * refuses it, as RFC 8259 asks */
    static const char nul_number[] = "{" BASE_CLAIMS ",\"x\":1\0}";
    static const char nul_literal[] = "{" BASE_CLAIMS ",\"x\":[true\0]}";
    ck_assert(jansson_object(nul_number, sizeof(nul_number) - 1));
    assert_module_verdict(nul_number, sizeof(nul_number) - 1, 0);
    ck_assert(jansson_object(nul_literal, sizeof(nul_literal) - 1));
    assert_module_verdict(nul_literal, sizeof(nul_literal) - 1, 0);
    assert_claims_verdict("{" BASE_CLAIMS ",\"sub\":\"bob\"}",
                          strlen("{" BASE_CLAIMS ",\"sub\":\"bob\"}"), 0);
}
END_TEST

START_TEST(test_jose_claims_depth)
{
    /* jansson counts the outer object: arrays nested 2047 deep inside a
     * member are the most it reads */
    static char claims[8192];
    int depth;

    for (depth = 2047; depth <= 2048; depth++) {
        int n = snprintf(claims, sizeof(claims), "{" BASE_CLAIMS ",\"x\":");
        memset(claims + n, '[', (size_t)depth);
        memset(claims + n + depth, ']', (size_t)depth);
        claims[n + 2 * depth] = '}';
        assert_claims_verdict(claims, (size_t)(n + 2 * depth + 1),
                              depth == 2047);
    }
}
END_TEST

/*
 * Random damage to a claims set: whatever jansson refuses is refused as
 * malformed, and whatever it reads is not (it may still fail a claim).
 */
START_TEST(test_jose_claims_mutations)
{
    static const char seed[] =
        "{" BASE_CLAIMS ",\"sid\":\"s-1\",\"n\":-12.5e-3,\"a\":[true,null,"
        "{\"k\":\"\\u00e9\\n\"}],\"e\":{}}";
    static const char alphabet[] = "{}[]\":,\\ 0-1.eE+tfnu\x01\xc3\xa9\xff";
    unsigned state = 12345;
    char buf[sizeof(seed) + 8];
    int i, refused = 0;

    for (i = 0; i < 1500; i++) {
        size_t len = sizeof(seed) - 1;
        int k, edits;

        memcpy(buf, seed, sizeof(seed));
        edits = 1 + (int)(next_random(&state) % 3);
        for (k = 0; k < edits; k++) {
            size_t at = next_random(&state) % len;
            buf[at] = alphabet[next_random(&state) % (sizeof(alphabet) - 1)];
        }

        ol_hint hint;
        char err[256] = "";
        ol_status st = verify_claims(buf, len, &hint, err, sizeof(err));
        int malformed = st == OL_INVALID && strstr(err, "malformed claims");

        ck_assert_msg(malformed == !jansson_object(buf, len),
                      "jansson %s it, the module %s (%s): %.*s",
                      malformed ? "reads" : "refuses",
                      malformed ? "refuses it as malformed" : "reads it", err,
                      (int)len, buf);
        refused += malformed;
    }
    /* the damage was real: most sets broke, some survived */
    ck_assert_int_gt(refused, 500);
    ck_assert_int_lt(refused, 1500);
}
END_TEST

START_TEST(test_jose_header_json)
{
    static const struct {
        const char *header;
        int valid;
    } cases[] = {
        {"{\"alg\":\"ES256\",\"kid\":\"ec256\"}", 1},
        {" {\"kid\":\"ec\\u0032\\u00356\",\"alg\":\"ES256\"} ", 1},
        {"{\"alg\":\"ES256\",\"alg\":\"ES256\"}", 0},
        {"{\"alg\":\"ES256\"", 0},
        {"{\"alg\":\"ES256\"}x", 0},
        {"{\"alg\":\"ES\\u0000256\"}", 0},
        {"[\"alg\"]", 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *t = forge_token(cases[i].header, good_claims, NULL);
        ol_hint hint;
        char err[256] = "";
        int malformed;

        ck_assert_int_eq(
            jansson_object(cases[i].header, strlen(cases[i].header)),
            cases[i].valid);
        ck_assert_int_eq(verify(t, &hint, err, sizeof(err)), OL_INVALID);
        malformed = strstr(err, "malformed header") != NULL;
        ck_assert_msg(malformed == !cases[i].valid, "%s: %s", cases[i].header,
                      err);
        free(t);
    }
}
END_TEST

START_TEST(test_jose_without_keys)
{
    ol_hint hint;
    char err[128] = "";
    const char *t = "e30.e30.e30";

    ck_assert_int_eq(ol_hint_verify(NULL, ISSUER, strlen(ISSUER), clients, t,
                                    strlen(t), NOW, &hint, err, sizeof(err)),
                     OL_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "no keys"));
}
END_TEST

START_TEST(test_jose_public_jwks)
{
    size_t len;
    const char *jwks = ol_keys_public_jwks(keys, &len);
    json_t *doc = json_loadb(jwks, len, 0, NULL);
    json_t *list = json_object_get(doc, "keys");
    json_t *k;
    size_t i;

    ck_assert_uint_eq(ol_keys_count(keys), 5);
    ck_assert_uint_eq(json_array_size(list), 5);
    json_array_foreach(list, i, k)
    {
        ck_assert_ptr_null(json_object_get(k, "d"));
        ck_assert_ptr_null(json_object_get(k, "p"));
        ck_assert_ptr_null(json_object_get(k, "q"));
        ck_assert_ptr_nonnull(json_object_get(k, "kid"));
        ck_assert_ptr_nonnull(json_object_get(k, "kty"));
    }
    json_decref(doc);
}
END_TEST

static const struct {
    const char *jwks;
    const char *why;
} bad_jwks[] = {
    {"", "line 1"},
    {"[]", "expected a JWKS"},
    {"{\"keys\": []}", "no keys"},
    {"{\"keys\": [42]}", "key #1: not a JSON object"},
    {"{\"keys\": [{\"kty\": \"oct\", \"k\": \"c2VjcmV0\"}]}",
     "key #1: symmetric keys are not accepted"},
    {"{\"keys\": [{\"kty\": \"OKP\", \"crv\": \"Ed25519\"}]}",
     "kty must be \"RSA\" or \"EC\""},
    {"{\"keys\": [{\"kty\": \"EC\", \"crv\": \"secp256k1\", \"kid\": \"k\"}]}",
     "key #1 (kid \"k\"): crv must be"},
    {"{\"keys\": [{\"kty\": \"RSA\", \"n\": \"AQAB\", \"e\": \"AQAB\"}]}",
     "at least 2048 bits"},
};

START_TEST(test_jose_bad_jwks)
{
    ol_keys *k = NULL;
    char err[512] = "";
    const char *j = bad_jwks[_i].jwks;

    ck_assert_msg(ol_keys_parse(j, strlen(j), "keys.json", &k, err,
                                sizeof(err)) == OL_INVALID,
                  "accepted %s", j);
    ck_assert_msg(strncmp(err, "\"keys.json\": ", 13) == 0, "%s", err);
    ck_assert_msg(strstr(err, bad_jwks[_i].why) != NULL,
                  "\"%s\" does not say \"%s\"", err, bad_jwks[_i].why);
}
END_TEST

/* A JWKS (a new string) of the public part of key with one member set to
 * value; a member "n" gets prefix put before its value instead. */
static char *
jwks_with(cjose_jwk_t *key, const char *member, const char *value)
{
    cjose_err e;
    char *text = cjose_jwk_to_json(key, false, &e);
    json_t *k = json_loads(text, 0, NULL);
    json_t *doc;
    char *jwks;

    json_object_set_new(k, member, json_string(value));
    doc = json_pack("{s:[o]}", "keys", k);
    jwks = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    free(text);
    return jwks;
}

/* Asserts the JWKS of key with member set to value is refused for why. */
static void
assert_key_refused(cjose_jwk_t *key, const char *member, const char *value,
                   const char *why)
{
    char *jwks = jwks_with(key, member, value);
    ol_keys *out = NULL;
    char err[512] = "";

    ck_assert_int_eq(
        ol_keys_parse(jwks, strlen(jwks), "keys.json", &out, err, sizeof(err)),
        OL_INVALID);
    ck_assert_msg(strstr(err, why) != NULL, "\"%s\" does not say \"%s\"", err,
                  why);
    free(jwks);
}

START_TEST(test_jose_bad_key_members)
{
    cjose_err e;
    cjose_jwk_t *small = cjose_jwk_create_RSA_random(1024, NULL, 0, &e);

    assert_key_refused(rsa_new, "use", "enc", "use must be \"sig\"");
    assert_key_refused(rsa_new, "alg", "ES256", "alg \"ES256\" does not fit");
    assert_key_refused(ec256, "alg", "ES384", "alg \"ES384\" does not fit");
    assert_key_refused(rsa_new, "alg", "HS256", "alg \"HS256\" does not fit");
    assert_key_refused(small, "kid", "small", "at least 2048 bits");
    cjose_jwk_release(small);
}
END_TEST

/*
 * Loads the private JWK of key with one character in the middle of member
 * damaged (none when NULL) and the members of dropped (NULL-terminated, or
 * NULL) removed: refused saying why, or accepted when why is NULL.
 */
static void
assert_private_key(cjose_jwk_t *key, const char *damaged,
                   const char *const *dropped, const char *why)
{
    cjose_err e;
    char *text = cjose_jwk_to_json(key, true, &e), *jwks, *value;
    json_t *k = json_loads(text, 0, NULL), *doc;
    ol_keys *out = NULL;
    char err[512] = "";
    ol_status rc;

    ck_assert_ptr_nonnull(json_object_get(k, "d"));
    if (damaged != NULL) {
        value = strdup(json_string_value(json_object_get(k, damaged)));
        value[strlen(value) / 2] = value[strlen(value) / 2] == 'A' ? 'B' : 'A';
        json_object_set_new(k, damaged, json_string(value));
        free(value);
    }
    for (; dropped != NULL && *dropped != NULL; dropped++) {
        json_object_del(k, *dropped);
    }
    doc = json_pack("{s:[o]}", "keys", k);
    jwks = json_dumps(doc, JSON_COMPACT);
    rc = ol_keys_parse(jwks, strlen(jwks), "keys.json", &out, err, sizeof(err));
    if (why == NULL) {
        ck_assert_msg(rc == OL_OK, "refused: %s", err);
        ol_keys_free(out);
    } else {
        ck_assert_msg(rc == OL_INVALID, "accepted with %s damaged", damaged);
        ck_assert_msg(strstr(err, why) != NULL, "\"%s\" does not say \"%s\"",
                      err, why);
    }
    json_decref(doc);
    free(jwks);
    free(text);
}

START_TEST(test_jose_inconsistent_private_key)
{
    static const char *const crt[] = {"p", "q", "dp", "dq", "qi", NULL};
    cjose_err e;
    cjose_jwk_t *ec = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &e);
    char *text = cjose_jwk_to_json(rsa_new, true, &e);

    /* cjose exports every private member of an RSA key */
    ck_assert_ptr_nonnull(strstr(text, "\"qi\":"));
    free(text);
    ck_assert(cjose_jwk_set_kid(ec, "ec", 2, &e));
    assert_private_key(rsa_new, NULL, NULL, NULL);
    /* signing uses the CRT members, which are intact: OpenSSL's check of
     * the key pair finds the damaged d */
    assert_private_key(rsa_new, "d", NULL,
                       "key #1 (kid \"new\"): inconsistent private key: "
                       "EVP_PKEY_check failed: the private members do not "
                       "match the public ones");
    assert_private_key(rsa_new, "dp", NULL, "EVP_PKEY_check failed");
    assert_private_key(rsa_new, "qi", NULL, "EVP_PKEY_check failed");
    /* d alone (RFC 7518 6.3.2 allows it): a signature with it must verify */
    assert_private_key(rsa_new, NULL, crt, NULL);
    assert_private_key(rsa_new, "d", crt,
                       "key #1 (kid \"new\"): inconsistent private key: d "
                       "does not match n and e");
    /* EC: d against the public point */
    assert_private_key(ec, NULL, NULL, NULL);
    assert_private_key(ec, "d", NULL,
                       "key #1 (kid \"ec\"): inconsistent private key: "
                       "EVP_PKEY_check failed");
    cjose_jwk_release(ec);
}
END_TEST

START_TEST(test_jose_key_alg_restricts)
{
    /* a key that declares RS256 verifies nothing else */
    char *jwks = jwks_with(rsa_new, "alg", "RS256"), *t, err[256];
    ol_keys *only = NULL;
    ol_hint hint;

    ck_assert_int_eq(
        ol_keys_parse(jwks, strlen(jwks), "keys.json", &only, err, sizeof(err)),
        OL_OK);
    t = mint_token(rsa_new, "RS256", good_claims);
    ck_assert_int_eq(ol_hint_verify(only, ISSUER, strlen(ISSUER), clients, t,
                                    strlen(t), NOW, &hint, err, sizeof(err)),
                     OL_OK);
    free(t);
    t = mint_token(rsa_new, "PS256", good_claims);
    ck_assert_int_eq(ol_hint_verify(only, ISSUER, strlen(ISSUER), clients, t,
                                    strlen(t), NOW, &hint, err, sizeof(err)),
                     OL_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "fits PS256"));
    free(t);
    ol_keys_free(only);
    free(jwks);
}
END_TEST

START_TEST(test_jose_padded_small_modulus)
{
    /* zero bytes before a 1024-bit modulus make 256 bytes, not a 2048-bit
     * key: "AAAA" is three zero bytes, 172 "A"s are 129 */
    cjose_err e;
    cjose_jwk_t *small = cjose_jwk_create_RSA_random(1024, NULL, 0, &e);
    char *text = cjose_jwk_to_json(small, false, &e);
    json_t *k = json_loads(text, 0, NULL);
    char padded[1024];

    memset(padded, 'A', 172);
    padded[172] = '\0';
    strcat(padded, json_string_value(json_object_get(k, "n")));
    assert_key_refused(small, "n", padded, "at least 2048 bits");
    json_decref(k);
    free(text);
    cjose_jwk_release(small);
}
END_TEST

START_TEST(test_jose_duplicate_kid)
{
    cjose_jwk_t *two[2] = {rsa_new, rsa_stranger};
    char *jwks = jwks_of(two, 2);
    ol_keys *out = NULL;
    char err[512] = "";

    ck_assert_int_eq(
        ol_keys_parse(jwks, strlen(jwks), "keys.json", &out, err, sizeof(err)),
        OL_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "key #2 (kid \"new\"): duplicate kid"));
    free(jwks);
}
END_TEST

START_TEST(test_jose_load_missing_file)
{
    ol_keys *out = NULL;
    char err[512] = "";

    ck_assert_int_eq(
        ol_keys_load("/nonexistent/keys.json", &out, err, sizeof(err)),
        OL_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "\"/nonexistent/keys.json\": unable "
                                      "to open"));
}
END_TEST

Suite *
jose_suite(void)
{
    Suite *s = suite_create("jose");
    TCase *tc = tcase_create("hint");
    TCase *tk = tcase_create("keys");

    tcase_set_timeout(tc, CHECK_TIMEOUT);
    tcase_add_unchecked_fixture(tc, setup_keys, teardown_keys);
    tcase_add_test(tc, test_jose_valid_hint);
    tcase_add_test(tc, test_jose_every_algorithm);
    tcase_add_test(tc, test_jose_rotated_key);
    tcase_add_test(tc, test_jose_ecdsa_encodings);
    tcase_add_test(tc, test_jose_wrong_key);
    tcase_add_test(tc, test_jose_unknown_kid);
    tcase_add_test(tc, test_jose_alg_must_fit_key);
    tcase_add_test(tc, test_jose_alg_none);
    tcase_add_test(tc, test_jose_hmac_with_public_key);
    tcase_add_test(tc, test_jose_hmac_with_client_secret);
    tcase_add_test(tc, test_jose_malformed);
    tcase_add_test(tc, test_jose_oversized);
    tcase_add_test(tc, test_jose_crit_header);
    tcase_add_loop_test(tc, test_jose_bad_claims, 0,
                        sizeof(bad_claims) / sizeof(bad_claims[0]));
    tcase_add_test(tc, test_jose_claims_accepted);
    tcase_add_loop_test(tc, test_jose_claims_json, 0,
                        sizeof(json_values) / sizeof(json_values[0]));
    tcase_add_test(tc, test_jose_claims_documents);
    tcase_add_test(tc, test_jose_claims_depth);
    tcase_add_test(tc, test_jose_claims_mutations);
    tcase_add_test(tc, test_jose_header_json);
    tcase_add_test(tc, test_jose_without_keys);
    tcase_add_test(tc, test_jose_public_jwks);
    suite_add_tcase(s, tc);

    tcase_set_timeout(tk, CHECK_TIMEOUT);
    tcase_add_unchecked_fixture(tk, setup_keys, teardown_keys);
    tcase_add_loop_test(tk, test_jose_bad_jwks, 0,
                        sizeof(bad_jwks) / sizeof(bad_jwks[0]));
    tcase_add_test(tk, test_jose_bad_key_members);
    tcase_add_test(tk, test_jose_inconsistent_private_key);
    tcase_add_test(tk, test_jose_duplicate_kid);
    tcase_add_test(tk, test_jose_key_alg_restricts);
    tcase_add_test(tk, test_jose_padded_small_modulus);
    tcase_add_test(tk, test_jose_load_missing_file);
    suite_add_tcase(s, tk);
    return s;
}
