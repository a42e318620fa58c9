/*
 * Logout tokens that the upstream provider sends to the receiver
 * (ol_received_logout_verify): Back-Channel Logout 1.0 sections 2.4 and
 * 2.6, with tokens minted here by the provider's key, verified with its
 * published JWKS.
 */

#include "check_suites.h"

#include <cjose/cjose.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ISSUER "https://op.example.com"
#define NOW 1700000000
#define EVENT "http://schemas.openid.net/event/backchannel-logout"

/* the claims of a valid token, sid and sub aside */
#define ISS "\"iss\":\"" ISSUER "\""
#define AUD "\"aud\":\"nginx\""
#define IAT "\"iat\":1699999990"
#define JTI "\"jti\":\"jti-1\""
#define EVENTS "\"events\":{\"" EVENT "\":{}}"
#define SID "\"sid\":\"op-sid-1\""
#define SUB "\"sub\":\"alice\""
#define VALID_BUT_SID_SUB ISS "," AUD "," IAT "," JTI "," EVENTS

/* the provider's key, one it does not publish, and one it does not
 * publish under the kid of its own */
static cjose_jwk_t *provider, *stranger, *impostor;
static ol_keys *published;
static const char *const audiences[] = {"nginx-other", "nginx"};

static void
setup(void)
{
    char jwks[4096], err[512];
    char *j;
    size_t skipped = 0;

    provider = rsa_key("p1");
    stranger = rsa_key("p2");
    impostor = rsa_key("p1");
    j = jwk_json(provider, 0);
    snprintf(jwks, sizeof(jwks), "{\"keys\":[%s]}", j);
    free(j);
    ck_assert_msg(ol_keys_parse_published(jwks, strlen(jwks), "jwks_uri",
                                          &published, &skipped, err,
                                          sizeof(err)) == OL_OK,
                  "%s", err);
}

static void
teardown(void)
{
    ol_keys_free(published);
    cjose_jwk_release(provider);
    cjose_jwk_release(stranger);
    cjose_jwk_release(impostor);
}

/* What a verification gave. */
typedef struct {
    ol_status status;
    char sub[OL_SUB_MAX + 1];
    char sid[OL_SUB_MAX + 1];
    char jti[OL_SUB_MAX + 1];
    int unknown_kid;
    char err[512];
} verified;

static verified
verify_with(const ol_keys *keys, const char *token)
{
    verified v;

    memset(&v, 0, sizeof(v));
    v.unknown_kid = -1;
    v.status = ol_received_logout_verify(
        keys, ISSUER, strlen(ISSUER), audiences, 2, token, strlen(token), NOW,
        v.sub, v.sid, v.jti, &v.unknown_kid, v.err, sizeof(v.err));
    return v;
}

/* A token of claims signed by the provider, typed logout+jwt. */
static char *
provider_token(const char *claims)
{
    return mint_typed_token(provider, "RS256", "logout+jwt", claims);
}

/* Asserts that token is accepted and says sub and sid; frees it. */
static void
assert_accepted(char *token, const char *sub, const char *sid)
{
    verified v = verify_with(published, token);

    ck_assert_msg(v.status == OL_OK, "refused (%s): %.200s", v.err, token);
    ck_assert_str_eq(v.sub, sub);
    ck_assert_str_eq(v.sid, sid);
    ck_assert_str_eq(v.jti, "jti-1");
    free(token);
}

/* Asserts that token is refused with a reason holding why; frees it. */
static verified
assert_refused(char *token, const char *why)
{
    verified v = verify_with(published, token);

    ck_assert_msg(v.status == OL_INVALID, "accepted: %.200s", token);
    ck_assert_msg(strstr(v.err, why) != NULL, "\"%s\" does not say \"%s\"",
                  v.err, why);
    ck_assert_str_eq(v.sub, "");
    ck_assert_str_eq(v.sid, "");
    free(token);
    return v;
}

/* ---- accepted ----------------------------------------------------------- */

START_TEST(test_received_sid_and_sub)
{
    assert_accepted(provider_token("{" VALID_BUT_SID_SUB "," SID "," SUB "}"),
                    "alice", "op-sid-1");
}
END_TEST

START_TEST(test_received_sid_only)
{
    assert_accepted(provider_token("{" VALID_BUT_SID_SUB "," SID "}"), "",
                    "op-sid-1");
}
END_TEST

START_TEST(test_received_sub_only)
{
    assert_accepted(provider_token("{" VALID_BUT_SID_SUB "," SUB "}"), "alice",
                    "");
}
END_TEST

START_TEST(test_received_aud_array)
{
    /* one of the audiences is ours, whichever of ours it is */
    assert_accepted(provider_token("{" ISS ",\"aud\":[\"app1\",\"nginx\"]," IAT
                                   "," JTI "," EVENTS "," SID "}"),
                    "", "op-sid-1");
    assert_accepted(provider_token("{" ISS ",\"aud\":[\"nginx-other\"]," IAT
                                   "," JTI "," EVENTS "," SID "}"),
                    "", "op-sid-1");
}
END_TEST

START_TEST(test_received_issuer_slash)
{
    /* as for hints, a trailing "/" makes no other issuer */
    assert_accepted(provider_token("{\"iss\":\"" ISSUER "/\"," AUD "," IAT
                                   "," JTI "," EVENTS "," SID "}"),
                    "", "op-sid-1");
}
END_TEST

START_TEST(test_received_typ_accepted)
{
    static const char claims[] = "{" VALID_BUT_SID_SUB "," SID "}";

    assert_accepted(mint_token(provider, "RS256", claims), "", "op-sid-1");
    assert_accepted(
        mint_typed_token(provider, "RS256", "application/logout+jwt", claims),
        "", "op-sid-1");
    assert_accepted(mint_typed_token(provider, "RS256", "Logout+JWT", claims),
                    "", "op-sid-1");
}
END_TEST

START_TEST(test_received_time_limits)
{
    /* iat 600 s old, iat 60 s ahead, exp 59 s past: all within bounds */
    assert_accepted(provider_token("{" ISS "," AUD ",\"iat\":1699999400," JTI
                                   "," EVENTS "," SID "}"),
                    "", "op-sid-1");
    assert_accepted(provider_token("{" ISS "," AUD ",\"iat\":1700000060," JTI
                                   "," EVENTS "," SID "}"),
                    "", "op-sid-1");
    assert_accepted(
        provider_token("{" VALID_BUT_SID_SUB ",\"exp\":1699999941," SID "}"),
        "", "op-sid-1");
    assert_accepted(
        provider_token("{" VALID_BUT_SID_SUB ",\"exp\":1e300," SID "}"), "",
        "op-sid-1");
}
END_TEST

START_TEST(test_received_own_token)
{
    /* a token that the module itself signs for a client passes */
    char jwks[8192], err[512];
    char *j = jwk_json(provider, 1);
    ol_keys *own = NULL;
    ol_clients *clients =
        clients_from("[{\"client_id\": \"nginx\", \"backchannel_logout_uri\": "
                     "\"https://nginx.example.com/bc\"}]");
    ol_session_info info;
    ol_deliveries *d = NULL;
    const ol_target *target;
    const char *body;
    size_t len;
    char *token;
    verified v;

    snprintf(jwks, sizeof(jwks), "{\"keys\":[%s]}", j);
    free(j);
    ck_assert_msg(ol_keys_parse(jwks, strlen(jwks), "keys.json", &own, err,
                                sizeof(err)) == OL_OK,
                  "%s", err);
    session_info(&info, "sid-9", "bob", IDS("nginx"), 1);
    ck_assert_int_eq(ol_backchannel_deliveries(own, clients, ISSUER,
                                               strlen(ISSUER), &info, NOW, &d,
                                               err, sizeof(err)),
                     OL_OK);
    ck_assert_uint_eq(ol_deliveries_count(d), 1);
    ol_delivery_get(d, 0, &target, &body, &len);
    ck_assert_int_eq(strncmp(body, "logout_token=", 13), 0);
    token = strndup(body + 13, len - 13);
    v = verify_with(published, token);
    ck_assert_msg(v.status == OL_OK, "%s", v.err);
    ck_assert_str_eq(v.sub, "bob");
    ck_assert_str_eq(v.sid, "sid-9");
    ck_assert_uint_eq(strlen(v.jti), 22);
    free(token);
    ol_deliveries_free(d);
    ol_clients_free(clients);
    ol_keys_free(own);
}
END_TEST

/* ---- the signature and the header ---------------------------------------- */

START_TEST(test_received_unsigned)
{
    static const char claims[] = "{" VALID_BUT_SID_SUB "," SID "}";
    char *pub = jwk_json(provider, 0);

    assert_refused(
        forge_token("{\"alg\":\"none\",\"typ\":\"logout+jwt\"}", claims, NULL),
        "unsigned (alg none)");
    /* the provider's public key as an HMAC secret */
    assert_refused(
        forge_token("{\"alg\":\"HS256\",\"kid\":\"p1\",\"typ\":\"logout+jwt\"}",
                    claims, pub),
        "HMAC (\"HS256\") tokens are never accepted");
    free(pub);
}
END_TEST

START_TEST(test_received_unknown_key)
{
    static const char claims[] = "{" VALID_BUT_SID_SUB "," SID "}";
    verified v;

    v = assert_refused(
        mint_typed_token(stranger, "RS256", "logout+jwt", claims),
        "no key of kid \"p2\" fits RS256");
    ck_assert_int_eq(v.unknown_kid, 1);
    /* a known kid and another key: a forgery, not a rotation */
    v = assert_refused(
        mint_typed_token(impostor, "RS256", "logout+jwt", claims),
        "bad signature");
    ck_assert_int_eq(v.unknown_kid, 0);
}
END_TEST

START_TEST(test_received_without_keys)
{
    char *token = provider_token("{" VALID_BUT_SID_SUB "," SID "}");
    verified v = verify_with(NULL, token);

    ck_assert_int_eq(v.status, OL_INVALID);
    ck_assert_str_eq(v.err, "no keys of the provider to verify it");
    free(token);
}
END_TEST

START_TEST(test_received_bad_typ)
{
    static const char claims[] = "{" VALID_BUT_SID_SUB "," SID "}";

    /* an ID token, an access token, a near miss */
    assert_refused(mint_typed_token(provider, "RS256", "JWT", claims),
                   "typ \"JWT\" is not logout+jwt");
    assert_refused(mint_typed_token(provider, "RS256", "at+jwt", claims),
                   "typ \"at+jwt\" is not logout+jwt");
    assert_refused(mint_typed_token(provider, "RS256", "logout+jwt2", claims),
                   "is not logout+jwt");
}
END_TEST

/* ---- the claims ---------------------------------------------------------- */

/* Each set of claims breaks one rule and keeps every other. */
static const struct {
    const char *rule;
    const char *claims;
    const char *why;
} broken[] = {
    {"iss of another provider",
     "{\"iss\":\"https://evil.example.com\"," AUD "," IAT "," JTI "," EVENTS
     "," SID "}",
     "iss \"https://evil.example.com\" is not the issuer"},
    {"no iss", "{" AUD "," IAT "," JTI "," EVENTS "," SID "}",
     "is not the issuer"},
    {"aud of another client",
     "{" ISS ",\"aud\":\"app1\"," IAT "," JTI "," EVENTS "," SID "}",
     "aud is not ours"},
    {"aud array of other clients",
     "{" ISS ",\"aud\":[\"app1\",\"nginx2\"]," IAT "," JTI "," EVENTS "," SID
     "}",
     "aud is not ours"},
    {"no aud", "{" ISS "," IAT "," JTI "," EVENTS "," SID "}", "no aud"},
    {"no iat", "{" ISS "," AUD "," JTI "," EVENTS "," SID "}", "no iat"},
    {"iat a string",
     "{" ISS "," AUD ",\"iat\":\"1699999990\"," JTI "," EVENTS "," SID "}",
     "no iat"},
    {"iat in the future",
     "{" ISS "," AUD ",\"iat\":1700000061," JTI "," EVENTS "," SID "}",
     "issued in the future (iat)"},
    {"iat too old",
     "{" ISS "," AUD ",\"iat\":1699999399," JTI "," EVENTS "," SID "}",
     "issued more than 600 seconds ago (iat)"},
    {"exp past", "{" VALID_BUT_SID_SUB ",\"exp\":1699999940," SID "}",
     "expired (exp)"},
    {"exp a string", "{" VALID_BUT_SID_SUB ",\"exp\":\"never\"," SID "}",
     "exp is not a number"},
    {"no jti", "{" ISS "," AUD "," IAT "," EVENTS "," SID "}",
     "the token has no jti"},
    {"empty jti", "{" ISS "," AUD "," IAT ",\"jti\":\"\"," EVENTS "," SID "}",
     "the token has no jti"},
    {"jti a number", "{" ISS "," AUD "," IAT ",\"jti\":7," EVENTS "," SID "}",
     "jti is not a string"},
    {"no events", "{" ISS "," AUD "," IAT "," JTI "," SID "}",
     "the token has no events object"},
    {"events an array",
     "{" ISS "," AUD "," IAT "," JTI ",\"events\":[\"" EVENT "\"]," SID "}",
     "the token has no events object"},
    {"events without the logout event",
     "{" ISS "," AUD "," IAT "," JTI
     ",\"events\":{\"http://schemas.openid.net/event/other\":{}}," SID "}",
     "events has no back-channel logout event"},
    {"the logout event not an object",
     "{" ISS "," AUD "," IAT "," JTI ",\"events\":{\"" EVENT "\":true}," SID
     "}",
     "the back-channel logout event is not an object"},
    {"a nonce", "{" VALID_BUT_SID_SUB ",\"nonce\":\"n-1\"," SID "," SUB "}",
     "the token has a nonce"},
    {"neither sid nor sub", "{" VALID_BUT_SID_SUB "}",
     "the token has neither sid nor sub"},
    {"empty sid and sub", "{" VALID_BUT_SID_SUB ",\"sid\":\"\",\"sub\":\"\"}",
     "the token has neither sid nor sub"},
    {"sid a number", "{" VALID_BUT_SID_SUB ",\"sid\":12," SUB "}",
     "sid is not a string"},
    {"sub an object", "{" VALID_BUT_SID_SUB "," SID ",\"sub\":{}}",
     "sub is not a string"},
};

START_TEST(test_received_broken_claims)
{
    char *token = provider_token(broken[_i].claims);
    verified v = verify_with(published, token);

    ck_assert_msg(v.status == OL_INVALID, "%s: accepted", broken[_i].rule);
    ck_assert_msg(strstr(v.err, broken[_i].why) != NULL,
                  "%s: \"%s\" does not say \"%s\"", broken[_i].rule, v.err,
                  broken[_i].why);
    free(token);
}
END_TEST

START_TEST(test_received_claim_lengths)
{
    /* sid, sub and jti: 255 bytes pass, 256 do not */
    static const char *const names[] = {"jti", "sid", "sub"};
    char claims[2048], value[257];
    size_t i, n;

    for (i = 0; i < 3; i++) {
        for (n = 255; n <= 256; n++) {
            char *token;
            verified v;

            memset(value, 'a', n);
            value[n] = '\0';
            snprintf(claims, sizeof(claims),
                     "{" ISS "," AUD "," IAT "," EVENTS
                     ",\"jti\":\"%s\",\"sid\":\"%s\",\"sub\":\"%s\"}",
                     i == 0 ? value : "j", i == 1 ? value : "s",
                     i == 2 ? value : "u");
            token = provider_token(claims);
            v = verify_with(published, token);
            if (n == 255) {
                ck_assert_msg(v.status == OL_OK, "%s: %s", names[i], v.err);
            } else {
                ck_assert_int_eq(v.status, OL_INVALID);
                ck_assert_str_eq(strchr(v.err, ' '),
                                 " is longer than 255 bytes");
                ck_assert_int_eq(strncmp(v.err, names[i], 3), 0);
            }
            free(token);
        }
    }
}
END_TEST

START_TEST(test_received_sub_not_utf8)
{
    static const char claims[] =
        "{" VALID_BUT_SID_SUB ",\"sub\":\"al\xffice\"}";
    char *token = mint_token_n(provider, "RS256", claims, sizeof(claims) - 1);

    assert_refused(token, "malformed claims");
}
END_TEST

Suite *
received_logout_suite(void)
{
    Suite *s = suite_create("received_logout");
    TCase *tc = tcase_create("received_logout");

    tcase_set_timeout(tc, CHECK_TIMEOUT);
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_received_sid_and_sub);
    tcase_add_test(tc, test_received_sid_only);
    tcase_add_test(tc, test_received_sub_only);
    tcase_add_test(tc, test_received_aud_array);
    tcase_add_test(tc, test_received_issuer_slash);
    tcase_add_test(tc, test_received_typ_accepted);
    tcase_add_test(tc, test_received_time_limits);
    tcase_add_test(tc, test_received_own_token);
    tcase_add_test(tc, test_received_unsigned);
    tcase_add_test(tc, test_received_unknown_key);
    tcase_add_test(tc, test_received_without_keys);
    tcase_add_test(tc, test_received_bad_typ);
    tcase_add_loop_test(tc, test_received_broken_claims, 0,
                        sizeof(broken) / sizeof(broken[0]));
    tcase_add_test(tc, test_received_claim_lengths);
    tcase_add_test(tc, test_received_sub_not_utf8);
    suite_add_tcase(s, tc);
    return s;
}
