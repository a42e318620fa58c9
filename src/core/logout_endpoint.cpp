#include "logout_endpoint.hpp"

#include "pages.hpp"
#include "params.hpp"
#include "text.hpp"
#include "url.hpp"

namespace oidc_logout {

namespace {

/* Longest state returned, in bytes (before percent-encoding). */
constexpr size_t max_state_length = 2048;

Response
page_response(int status, std::string body)
{
    Response r;
    r.status = status;
    r.content_type = "text/html; charset=utf-8";
    r.body = std::move(body);
    r.headers = {{"Cache-Control", "no-store"},
                 {"Content-Security-Policy", page_csp},
                 {"X-Content-Type-Options", "nosniff"},
                 {"Referrer-Policy", "no-referrer"}};
    return r;
}

Response
logged_out()
{
    Response r = page_response(200, logged_out_page());
    r.ends_session = true;
    return r;
}

/* A refused request: the user sees message, the log sees reason. */
Response
refused(std::string_view message, std::string reason)
{
    Response r = page_response(400, error_page(message));
    r.log_reason = std::move(reason);
    return r;
}

Response
redirect(std::string location)
{
    Response r;
    r.status = 302;
    r.ends_session = true;
    r.headers = {{"Location", std::move(location)},
                 {"Cache-Control", "no-store"},
                 {"Referrer-Policy", "no-referrer"}};
    return r;
}

const char bad_request[] = "The sign-out request is malformed.";
const char unknown_client[] = "The application is not registered.";
const char bad_return[] =
    "The return address is not registered for this application.";

Response
respond_oidc(const Endpoint &ep, std::string_view raw)
{
    Params p({"id_token_hint", "logout_hint", "client_id",
              "post_logout_redirect_uri", "state", "ui_locales"});
    std::string reason;
    if (!p.parse(raw, reason)) {
        return refused(bad_request, reason);
    }
    const std::string *client_id = p.get("client_id");
    const std::string *uri = p.get("post_logout_redirect_uri");
    const std::string *state = p.get("state");

    const Client *client = nullptr;
    if (client_id != nullptr) {
        client = ep.clients ? ep.clients->find(*client_id) : nullptr;
        if (client == nullptr) {
            return refused(unknown_client,
                           "unknown client_id " + quoted(*client_id));
        }
    }
    if (uri == nullptr) {
        return logged_out();
    }
    if (client == nullptr) {
        return refused(bad_return, "post_logout_redirect_uri " + quoted(*uri) +
                                       " sent without client_id");
    }
    Url parsed;
    if (!parse_url(*uri, UrlKind::candidate, parsed, reason)) {
        return refused(bad_return, "post_logout_redirect_uri " + quoted(*uri) +
                                       ": " + reason);
    }
    if (!client->allows_post_logout(parsed)) {
        return refused(bad_return, "post_logout_redirect_uri " + quoted(*uri) +
                                       " is not registered for client " +
                                       quoted(client->id));
    }
    if (state != nullptr && state->size() > max_state_length) {
        return refused(bad_request, "state longer than " +
                                        std::to_string(max_state_length) +
                                        " bytes");
    }
    std::string location = *uri;
    if (state != nullptr) {
        location += parsed.has_query ? "&state=" : "?state=";
        location += percent_encode(*state);
    }
    return redirect(std::move(location));
}

Response
respond_auth0(const Endpoint &ep, std::string_view raw)
{
    Params p({"returnTo", "client_id", "federated"});
    std::string reason;
    if (!p.parse(raw, reason)) {
        return refused(bad_request, reason);
    }
    const std::string *client_id = p.get("client_id");
    const std::string *return_to = p.get("returnTo");

    const Allowlist *list = ep.tenant_urls;
    std::string list_name = "the tenant's allowed URLs";
    if (client_id != nullptr) {
        const Client *client =
            ep.clients ? ep.clients->find(*client_id) : nullptr;
        if (client == nullptr) {
            return refused(unknown_client,
                           "unknown client_id " + quoted(*client_id));
        }
        list = &client->allowed_logout_urls;
        list_name = "the allowed_logout_urls of client " + quoted(client->id);
        if (return_to == nullptr) {
            const std::string *first = list->first_plain();
            return first ? redirect(*first) : logged_out();
        }
    }
    if (return_to == nullptr) {
        return logged_out();
    }
    Url parsed;
    if (!parse_url(*return_to, UrlKind::candidate, parsed, reason)) {
        return refused(bad_return,
                       "returnTo " + quoted(*return_to) + ": " + reason);
    }
    if (list == nullptr || !list->matches(parsed)) {
        return refused(bad_return, "returnTo " + quoted(*return_to) +
                                       " is not in " + list_name);
    }
    return redirect(*return_to);
}

} // namespace

Response
respond(const Endpoint &endpoint, std::string_view params)
{
    return endpoint.mode == Mode::auth0 ? respond_auth0(endpoint, params)
                                        : respond_oidc(endpoint, params);
}

Response
refuse_request(std::string reason)
{
    return refused(bad_request, std::move(reason));
}

} // namespace oidc_logout
