#include "logout_endpoint.hpp"

#include "../oidc_logout_core.h"

#include <algorithm>

#include "params.hpp"
#include "text.hpp"
#include "url.hpp"

#include <openssl/crypto.h>

namespace oidc_logout {

namespace {

/* Longest state returned, in bytes (before percent-encoding). */
constexpr size_t max_state_length = 2048;

const char bad_request[] = "The sign-out request is malformed.";
const char unknown_client[] = "The application is not registered.";
const char bad_return[] =
    "The return address is not registered for this application.";

/* The scheme://authority of an absolute URL (the issuer). */
std::string_view
origin_of(std::string_view url)
{
    size_t scheme_end = url.find("://");
    return scheme_end == std::string_view::npos
               ? url
               : url.substr(0, url.find_first_of("/?#", scheme_end + 3));
}

class Responder {
  public:
    Responder(const Endpoint &ep, const Request &rq) : ep_(ep), rq_(rq)
    {
    }

    Response
    page(int status, PageKind kind, std::string_view title,
         std::string_view message, std::string_view form = "",
         std::string csp = page_csp) const
    {
        const PageTemplate *t = ep_.pages[static_cast<int>(kind)];
        Response r;
        set_page(r, status,
                 (t ? *t : default_page(kind)).render(title, message, form),
                 std::move(csp));
        return r;
    }

    Response
    logged_out(std::string note = "") const
    {
        Response r = page(200, PageKind::logged_out, "Signed out",
                          "You have been signed out.");
        r.ends_session = true;
        r.log_reason = std::move(note);
        return r;
    }

    /* A refused request: the user sees message, the log sees reason. */
    Response
    refused(std::string_view message, std::string reason) const
    {
        Response r =
            page(400, PageKind::error, "Sign-out request refused", message);
        r.log_reason = std::move(reason);
        return r;
    }

    Response
    redirect(std::string location, std::string note = "") const
    {
        Response r;
        r.status = 302;
        r.ends_session = true;
        r.log_reason = std::move(note);
        r.headers = {{"Location", std::move(location)},
                     {"Cache-Control", "no-store"},
                     {"Referrer-Policy", "no-referrer"}};
        return r;
    }

    /* 303 to this endpoint by GET with the same (known) parameters: a
     * relative URL, so nothing of the request's Host goes into it */
    Response
    see_other(const Params &p, const char *const *names) const
    {
        std::string location(rq_.action);
        char sep = '?';
        for (const char *const *n = names; *n != nullptr; n++) {
            if (const std::string *v = p.get(*n)) {
                location += sep + std::string(*n) + "=" + percent_encode(*v);
                sep = '&';
            }
        }
        Response r = redirect(std::move(location));
        r.status = 303;
        r.ends_session = false;
        return r;
    }

    /* Asks the user to confirm with a POST of the same parameters and the
     * session's anti-CSRF token; next_origin: the origin the confirmed
     * request redirects to (empty: none). */
    Response
    confirm(const Params &p, const char *const *names, std::string note,
            std::string_view next_origin) const
    {
        std::string form = "<form method=\"post\" action=\"" +
                           html_escape(rq_.action) + "\">\n";
        form += "<input type=\"hidden\" name=\"confirm\" value=\"" +
                html_escape(rq_.csrf_token) + "\">\n";
        for (const char *const *n = names; *n != nullptr; n++) {
            if (const std::string *v = p.get(*n)) {
                form += "<input type=\"hidden\" name=\"" + std::string(*n) +
                        "\" value=\"" + html_escape(*v) + "\">\n";
            }
        }
        form += "<button type=\"submit\">Sign out</button>\n</form>\n";
        Response r =
            page(200, PageKind::confirm, "Sign out?",
                 "Do you want to sign out?", form, confirm_csp(next_origin));
        r.log_reason = std::move(note);
        return r;
    }

  private:
    const Endpoint &ep_;
    const Request &rq_;
};

void
add_note(std::string &notes, const std::string &note)
{
    notes += notes.empty() ? note : "; " + note;
}

/* unknown_kid: the hint names a kid none of the keys has; hint: what its
 * verification found */
Response
respond_oidc(const Endpoint &ep, const Request &rq, const Responder &out,
             bool &unknown_kid, int &hint_result)
{
    static const char *const forwarded[] = {
        "id_token_hint", "logout_hint", "client_id", "post_logout_redirect_uri",
        "state",         "ui_locales",  nullptr};
    Params p({"id_token_hint", "logout_hint", "client_id",
              "post_logout_redirect_uri", "state", "ui_locales", "confirm"});
    std::string reason;
    if (!p.parse(rq.params, reason)) {
        return out.refused(bad_request, reason);
    }
    if (ep.sessions && rq.post && !rq.has_cookie && !p.has("confirm")) {
        /* an application's form posted from its own site comes without
         * the SameSite=Lax session cookie: the same request as a GET, a
         * top-level navigation, brings it */
        return out.see_other(p, forwarded);
    }
    const std::string *token = p.get("id_token_hint");
    const std::string *client_id = p.get("client_id");
    const std::string *logout_hint = p.get("logout_hint");
    const std::string *uri = p.get("post_logout_redirect_uri");
    const std::string *state = p.get("state");
    std::string notes;

    Hint hint;
    bool hint_valid = false;
    if (token != nullptr) {
        hint_valid = ep.keys != nullptr &&
                     ep.keys->verify_hint(*token, ep.issuer, ep.clients, rq.now,
                                          hint, reason, &unknown_kid);
        hint_result = hint_valid    ? OL_HINT_VERIFIED
                      : unknown_kid ? OL_HINT_UNKNOWN_KEY
                                    : OL_HINT_REFUSED;
        if (!hint_valid) {
            add_note(notes, "id_token_hint refused: " +
                                (ep.keys ? reason
                                         : std::string("no oidc_logout_keys")));
        }
    }

    const Client *client = nullptr;
    if (hint_valid) {
        client = ep.clients->find(hint.client_id);
        if (client_id != nullptr && *client_id != hint.client_id) {
            return out.refused(bad_request,
                               "client_id " + quoted(*client_id) +
                                   " is not the client of the id_token_hint " +
                                   quoted(hint.client_id));
        }
        if (logout_hint != nullptr && *logout_hint != hint.sub &&
            (hint.sid.empty() || *logout_hint != hint.sid)) {
            return out.refused(bad_request,
                               "logout_hint matches neither the sub nor the "
                               "sid of the id_token_hint");
        }
    } else if (client_id != nullptr) {
        client = ep.clients ? ep.clients->find(*client_id) : nullptr;
        if (client == nullptr) {
            add_note(notes, "unknown client_id " + quoted(*client_id));
        }
    }
    if (state != nullptr && state->size() > max_state_length) {
        return out.refused(bad_request, "state longer than " +
                                            std::to_string(max_state_length) +
                                            " bytes");
    }

    /* where to go afterwards: only a known client's registered URI */
    std::string location;
    std::string next_origin;
    if (uri != nullptr) {
        Url parsed;
        if (client == nullptr) {
            add_note(notes, "post_logout_redirect_uri " + quoted(*uri) +
                                " ignored: no known client");
        } else if (!parse_url(*uri, UrlKind::candidate, parsed, reason)) {
            add_note(notes, "post_logout_redirect_uri " + quoted(*uri) +
                                " ignored: " + reason);
        } else if (!client->allows_post_logout(parsed)) {
            add_note(notes, "post_logout_redirect_uri " + quoted(*uri) +
                                " ignored: not registered for client " +
                                quoted(client->id));
        } else {
            location = *uri;
            next_origin = parsed.origin();
            if (state != nullptr) {
                location += parsed.has_query ? "&state=" : "?state=";
                location += percent_encode(*state);
            }
        }
    }

    /* a live session ends only when the request is proven to be the
     * user's: a hint of that session, the client's wish, or a confirmation
     * posted with the session's token */
    if (rq.has_session) {
        bool proven = hint_valid &&
                      (hint.sid.empty()
                           ? hint.sub == rq.session_sub
                           : hint.sid == rq.session_sid ||
                                 std::find(rq.provider_sids.begin(),
                                           rq.provider_sids.end(),
                                           hint.sid) != rq.provider_sids.end());
        const std::string *confirm = p.get("confirm");
        bool confirmed = rq.post && confirm != nullptr &&
                         !rq.csrf_token.empty() &&
                         confirm->size() == rq.csrf_token.size() &&
                         CRYPTO_memcmp(confirm->data(), rq.csrf_token.data(),
                                       confirm->size()) == 0;
        /* the client's wish lifts only the other-session case: the hint
         * must still name this user (a link alone never logs out) */
        bool skipped = hint_valid && client != nullptr &&
                       client->skip_logout_confirmation &&
                       hint.sub == rq.session_sub;
        if (!proven && !confirmed && !skipped) {
            return out.confirm(p, forwarded, notes, next_origin);
        }
    }
    return location.empty() ? out.logged_out(notes)
                            : out.redirect(location, notes);
}

Response
respond_auth0(const Endpoint &ep, const Request &rq, const Responder &out)
{
    Params p({"returnTo", "client_id", "federated"});
    std::string reason;
    if (!p.parse(rq.params, reason)) {
        return out.refused(bad_request, reason);
    }
    const std::string *client_id = p.get("client_id");
    const std::string *return_to = p.get("returnTo");

    const Allowlist *list = ep.tenant_urls;
    std::string list_name = "the tenant's allowed URLs";
    std::string target;
    if (client_id != nullptr) {
        const Client *client =
            ep.clients ? ep.clients->find(*client_id) : nullptr;
        if (client == nullptr) {
            return out.refused(unknown_client,
                               "unknown client_id " + quoted(*client_id));
        }
        list = &client->allowed_logout_urls;
        list_name = "the allowed_logout_urls of client " + quoted(client->id);
        if (return_to == nullptr) {
            const std::string *first = list->first_plain();
            target = first ? *first : "";
        }
    }
    if (return_to != nullptr) {
        Url parsed;
        if (!parse_url(*return_to, UrlKind::candidate, parsed, reason)) {
            return out.refused(bad_return, "returnTo " + quoted(*return_to) +
                                               ": " + reason);
        }
        if (list == nullptr || !list->matches(parsed)) {
            return out.refused(bad_return, "returnTo " + quoted(*return_to) +
                                               " is not in " + list_name);
        }
        target = *return_to;
    }

    if (p.has("federated") && ep.federated && !ep.issuer.empty()) {
        /* the upstream provider logs out too, then sends the user back
         * here, without "federated", and on to returnTo; "here" is this
         * path on the issuer's origin, never the request's Host */
        std::string back =
            std::string(origin_of(ep.issuer)) + std::string(rq.action);
        char sep = '?';
        if (return_to != nullptr) {
            back += sep + std::string("returnTo=") + percent_encode(*return_to);
            sep = '&';
        }
        if (client_id != nullptr) {
            back +=
                sep + std::string("client_id=") + percent_encode(*client_id);
        }
        Response r = out.redirect("");
        r.headers.erase(r.headers.begin()); /* the glue sets Location */
        r.federated_return = percent_encode(back);
        return r;
    }
    return target.empty() ? out.logged_out() : out.redirect(target);
}

} // namespace

Response
respond(const Endpoint &endpoint, const Request &request)
{
    Responder out(endpoint, request);
    if (endpoint.mode == Mode::auth0) {
        return respond_auth0(endpoint, request, out);
    }
    bool unknown_kid = false;
    int hint = -1;
    Response r = respond_oidc(endpoint, request, out, unknown_kid, hint);
    r.unknown_kid = unknown_kid;
    r.hint = hint;
    return r;
}

void
set_page(Response &r, int status, std::string body, std::string csp)
{
    r.status = status;
    r.content_type = "text/html; charset=utf-8";
    r.body = std::move(body);
    r.headers = {{"Cache-Control", "no-store"},
                 {"Content-Security-Policy", std::move(csp)},
                 {"X-Content-Type-Options", "nosniff"},
                 {"Referrer-Policy", "no-referrer"}};
}

Response
json_response(std::string body, std::string cache_control)
{
    Response r;
    r.status = 200;
    r.content_type = "application/json";
    r.body = std::move(body);
    r.headers = {{"Cache-Control", std::move(cache_control)},
                 {"X-Content-Type-Options", "nosniff"}};
    return r;
}

Response
metadata_response(std::string_view issuer, std::string_view end_session_path,
                  std::string_view jwks_path, bool backchannel)
{
    std::string origin(origin_of(issuer));
    std::string body = "{\"issuer\":\"" + json_escape(issuer) +
                       "\","
                       "\"end_session_endpoint\":\"" +
                       json_escape(origin + std::string(end_session_path)) +
                       "\",";
    if (!jwks_path.empty()) {
        body += "\"jwks_uri\":\"" +
                json_escape(origin + std::string(jwks_path)) + "\",";
    }
    std::string bc = backchannel ? "true" : "false";
    body += "\"frontchannel_logout_supported\":true,"
            "\"frontchannel_logout_session_supported\":true,"
            "\"backchannel_logout_supported\":" +
            bc + ",\"backchannel_logout_session_supported\":" + bc + "}";
    return json_response(std::move(body));
}

Response
refuse_request(std::string reason)
{
    Endpoint ep;
    Request rq;
    return Responder(ep, rq).refused(bad_request, std::move(reason));
}

} // namespace oidc_logout
