#include "received_logout.hpp"

#include "../oidc_logout_core.h"
#include "text.hpp"
#include "token_json.hpp"

#include <algorithm>
#include <limits>

namespace oidc_logout {

namespace {

/* A claim that, when present, is a string of at most OL_SUB_MAX bytes,
 * into out ("" when absent). */
bool
short_string(const TokenJson &claims, const char *name, std::string &out,
             std::string &reason)
{
    const TokenJson::Value *v = claims.get(name);
    if (v == nullptr) {
        out.clear();
        return true;
    }
    if (v->kind != TokenJson::Kind::string) {
        return fail(reason, std::string(name) + " is not a string");
    }
    if (v->text.size() > OL_SUB_MAX) {
        return fail(reason, std::string(name) + " is longer than " +
                                std::to_string(OL_SUB_MAX) + " bytes");
    }
    out = v->text;
    return true;
}

/* Whether aud names one of audiences. */
bool
check_audience(const TokenJson &claims,
               const std::vector<std::string> &audiences, std::string &reason)
{
    std::vector<std::string_view> aud;
    if (!token_audiences(claims, aud, reason)) {
        return false;
    }
    for (std::string_view a : aud) {
        if (std::find(audiences.begin(), audiences.end(), a) !=
            audiences.end()) {
            return true;
        }
    }
    return fail(reason, "aud is not ours");
}

/* iat not too old (check_iat refuses it in the future), exp not past. */
bool
check_times(const TokenJson &claims, int64_t now, ReceivedLogout &out,
            std::string &reason)
{
    double iat = 0;
    if (!check_iat(claims, now, iat, reason)) {
        return false;
    }
    if (iat < static_cast<double>(now - received_token_max_age)) {
        return fail(reason, "issued more than " +
                                std::to_string(received_token_max_age) +
                                " seconds ago (iat)");
    }
    out.iat = static_cast<int64_t>(iat);
    out.exp = 0;
    if (const TokenJson::Value *exp = claims.get("exp")) {
        if (exp->kind != TokenJson::Kind::integer &&
            exp->kind != TokenJson::Kind::real) {
            return fail(reason, "exp is not a number");
        }
        if (exp->number <= static_cast<double>(now - iat_leeway)) {
            return fail(reason, "expired (exp)");
        }
        /* a double beyond int64_t would not convert */
        out.exp = exp->number >= 9.2e18 ? std::numeric_limits<int64_t>::max()
                                        : static_cast<int64_t>(exp->number);
    }
    return true;
}

/* events: an object whose back-channel logout member is an object. */
bool
check_events(const TokenJson &claims, std::string &reason)
{
    const TokenJson::Value *events = claims.get("events");
    if (events == nullptr || events->kind != TokenJson::Kind::object) {
        return fail(reason, "the token has no events object");
    }
    TokenJson members;
    if (!members.parse(std::string(events->text))) {
        return fail(reason, "malformed events");
    }
    const TokenJson::Value *event = members.get(backchannel_logout_event);
    if (event == nullptr) {
        return fail(reason, "events has no back-channel logout event");
    }
    if (event->kind != TokenJson::Kind::object) {
        return fail(reason, "the back-channel logout event is not an object");
    }
    return true;
}

} // namespace

bool
verify_received_logout(const KeySet &keys, std::string_view issuer,
                       const std::vector<std::string> &audiences,
                       std::string_view token, int64_t now, ReceivedLogout &out,
                       std::string &reason, bool *unknown_kid)
{
    std::string payload, typ;
    if (!keys.verify_jws(token, payload, typ, reason, unknown_kid)) {
        return false;
    }
    /* explicit typing (section 2.4) keeps other JWTs of the provider, an
     * ID token above all, from passing for a logout token */
    if (!typ.empty() && !iequals(typ, "logout+jwt") &&
        !iequals(typ, "application/logout+jwt")) {
        return fail(reason, "typ " + quoted(typ) + " is not logout+jwt");
    }
    TokenJson claims;
    if (!claims.parse(std::move(payload))) {
        return fail(reason, "malformed claims");
    }
    if (!check_issuer(claims, issuer, reason) ||
        !check_audience(claims, audiences, reason) ||
        !check_times(claims, now, out, reason)) {
        return false;
    }
    /* the parser took only UTF-8: sub is UTF-8 too */
    if (!short_string(claims, "jti", out.jti, reason)) {
        return false;
    }
    if (out.jti.empty()) {
        return fail(reason, "the token has no jti");
    }
    if (!check_events(claims, reason)) {
        return false;
    }
    if (claims.get("nonce") != nullptr) {
        return fail(reason, "the token has a nonce");
    }
    if (!short_string(claims, "sid", out.sid, reason) ||
        !short_string(claims, "sub", out.sub, reason)) {
        return false;
    }
    if (out.sid.empty() && out.sub.empty()) {
        return fail(reason, "the token has neither sid nor sub");
    }
    return true;
}

} // namespace oidc_logout
