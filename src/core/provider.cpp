// What the provider's traffic teaches (see provider.hpp).
#include "provider.hpp"

#include "params.hpp"
#include "text.hpp"
#include "token_json.hpp"

#include <algorithm>

namespace oidc_logout {

namespace {

/* What an authorization response carries. */
struct AuthorizationResponse {
    /* where it goes: a redirect's Location without its fragment (its
     * query holds the registered URI's own and the response's), or the
     * form's action */
    std::string redirect_uri;
    bool appended = false; /* the response is in redirect_uri's query */
    std::string code;
    std::string id_token;
};

bool
take_params(std::string_view raw, AuthorizationResponse &out)
{
    Params p({"code", "id_token"});
    std::string reason;
    if (!p.parse(raw, reason)) {
        return false;
    }
    for (auto [name, to] :
         {std::pair{"code", &out.code}, std::pair{"id_token", &out.id_token}}) {
        if (const std::string *v = p.get(name); v != nullptr) {
            if (!to->empty()) {
                return false; /* in the query and the fragment */
            }
            *to = *v;
        }
    }
    return true;
}

/* A redirect: Location's query and fragment. */
bool
parse_redirect(std::string_view location, AuthorizationResponse &out)
{
    size_t end = location.find_first_of("?#");
    out.redirect_uri = std::string(location.substr(0, location.find('#')));
    out.appended = true;
    if (end == std::string_view::npos) {
        return true;
    }
    std::string_view rest = location.substr(end);
    std::string_view fragment;
    if (size_t hash = rest.find('#'); hash != std::string_view::npos) {
        fragment = rest.substr(hash + 1);
        rest = rest.substr(0, hash);
    }
    if (!rest.empty()) {
        rest.remove_prefix(1); /* "?" */
    }
    return take_params(rest, out) && take_params(fragment, out);
}

/* The characters of an HTML attribute value with its character
 * references decoded (the few a form_post page uses). */
std::string
html_unescape(std::string_view in)
{
    static const std::pair<std::string_view, char> named[] = {
        {"amp;", '&'},   {"quot;", '"'}, {"apos;", '\''}, {"lt;", '<'},
        {"gt;", '>'},    {"#39;", '\''}, {"#34;", '"'},   {"#38;", '&'},
        {"#x27;", '\''}, {"#x22;", '"'}, {"#x26;", '&'},  {"#x2F;", '/'},
        {"#x2f;", '/'},  {"#47;", '/'},  {"#x3D;", '='},  {"#x3d;", '='},
        {"#61;", '='}};
    std::string out;
    for (size_t i = 0; i < in.size(); i++) {
        char c = in[i];
        if (c == '&') {
            for (const auto &[ref, ch] : named) {
                if (in.substr(i + 1, ref.size()) == ref) {
                    c = ch;
                    i += ref.size();
                    break;
                }
            }
        }
        out.push_back(c);
    }
    return out;
}

/* The attributes of one tag (from after its name up to ">"). */
struct Tag {
    std::string name;
    std::vector<std::pair<std::string, std::string>> attributes;

    const std::string *
    get(std::string_view attribute) const
    {
        for (const auto &[n, v] : attributes) {
            if (n == attribute) {
                return &v;
            }
        }
        return nullptr;
    }
};

/* The next tag at or after pos; false at the end of the page. */
bool
next_tag(std::string_view page, size_t &pos, Tag &tag)
{
    auto space = [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
    };
    while ((pos = page.find('<', pos)) != std::string_view::npos) {
        /* what a browser does not read as markup: comments, and the text
         * of scripts and styles (skipped after their tag, below) */
        if (page.substr(pos, 4) == "<!--") {
            size_t close = page.find("-->", pos + 4);
            if (close == std::string_view::npos) {
                return false;
            }
            pos = close + 3;
            continue;
        }
        size_t i = pos + 1;
        size_t start = i;
        while (i < page.size() && is_alpha(page[i])) {
            i++;
        }
        if (i == start) {
            pos = i;
            continue;
        }
        tag = Tag();
        tag.name = to_lower(page.substr(start, i - start));
        while (i < page.size() && page[i] != '>') {
            if (space(page[i]) || page[i] == '/') {
                i++;
                continue;
            }
            size_t name_start = i;
            while (i < page.size() && !space(page[i]) && page[i] != '=' &&
                   page[i] != '>') {
                i++;
            }
            std::string name =
                to_lower(page.substr(name_start, i - name_start));
            std::string value;
            if (i < page.size() && page[i] == '=') {
                i++;
                if (i < page.size() && (page[i] == '"' || page[i] == '\'')) {
                    char quote = page[i++];
                    size_t end = page.find(quote, i);
                    if (end == std::string_view::npos) {
                        return false;
                    }
                    value = html_unescape(page.substr(i, end - i));
                    i = end + 1;
                } else {
                    size_t value_start = i;
                    while (i < page.size() && !space(page[i]) &&
                           page[i] != '>') {
                        i++;
                    }
                    value = html_unescape(
                        page.substr(value_start, i - value_start));
                }
            }
            tag.attributes.emplace_back(std::move(name), std::move(value));
        }
        pos = i;
        return true;
    }
    return false;
}

/* A form_post page: the form's action and its hidden inputs. */
bool
parse_form_post(std::string_view page, AuthorizationResponse &out)
{
    size_t pos = 0;
    Tag tag;
    bool in_form = false;
    while (next_tag(page, pos, tag)) {
        if (tag.name == "script" || tag.name == "style") {
            size_t close = page.find("</" + tag.name, pos);
            if (close == std::string_view::npos) {
                return false;
            }
            pos = close;
            continue;
        }
        if (tag.name == "form") {
            const std::string *action = tag.get("action");
            const std::string *method = tag.get("method");
            if (in_form || action == nullptr || method == nullptr ||
                to_lower(*method) != "post") {
                return false; /* one form, posting somewhere */
            }
            in_form = true;
            out.redirect_uri = *action;
        } else if (tag.name == "input" && in_form) {
            const std::string *name = tag.get("name");
            const std::string *value = tag.get("value");
            std::string *to = name == nullptr       ? nullptr
                              : *name == "code"     ? &out.code
                              : *name == "id_token" ? &out.id_token
                                                    : nullptr;
            if (to != nullptr && value != nullptr) {
                if (!to->empty()) {
                    return false;
                }
                *to = *value;
            }
        }
    }
    return in_form;
}

/* The client a redirect_uri is registered for: the request's client_id
 * when it names one of them, else the first in the file's order. */
const Client *
client_of(const ClientRegistry &clients, std::string_view redirect_uri,
          bool appended, std::string_view request_query)
{
    Params p({"client_id"});
    std::string reason;
    const std::string *wanted =
        p.parse(request_query, reason) ? p.get("client_id") : nullptr;
    const Client *first = nullptr;
    /* a registered URI as it is, or with the response added to its query
     * (a redirect's Location) */
    auto matches = [&](const std::string &uri) {
        if (!appended || redirect_uri.size() <= uri.size()) {
            return redirect_uri == uri;
        }
        char next = uri.find('?') == std::string::npos ? '?' : '&';
        return redirect_uri.compare(0, uri.size(), uri) == 0 &&
               redirect_uri[uri.size()] == next;
    };
    for (const Client *c : clients.in_order()) {
        const auto &uris = c->redirect_uris;
        if (std::none_of(uris.begin(), uris.end(), matches)) {
            continue;
        }
        if (wanted != nullptr && *wanted == c->id) {
            return c;
        }
        if (first == nullptr) {
            first = c;
        }
    }
    return first;
}

/* Verifies an ID token of the provider for client; false with the reason
 * to log. */
bool
verify_id_token(const ProviderConfig &config, const Observation &o,
                std::string_view token, std::string_view client, Hint &claims,
                Learned &out)
{
    std::string reason;
    if (o.keys == nullptr) {
        reason = "the provider's keys are not known yet";
        out.unknown_kid = true;
    } else if (o.keys->verify_hint(token, config.issuer, config.clients, o.now,
                                   claims, reason, &out.unknown_kid)) {
        if (client.empty() || claims.client_id == client) {
            return true;
        }
        reason = "it was issued to " + quoted(claims.client_id) + ", not to " +
                 quoted(client);
    }
    out.log_reason = "an ID token of the provider was refused: " + reason;
    return false;
}

/* s without the blanks around it. */
std::string_view
trimmed(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

/* A cookie's value as the servers that read it see it: blanks around it
 * and one pair of double quotes taken off, percent-escapes decoded (the
 * cookie module of node-oidc-provider decodes them; Go and Netty take the
 * quotes off).  Every spelling of one value is one value. */
std::string
cookie_value(std::string_view value)
{
    value = trimmed(value);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = trimmed(value.substr(1, value.size() - 2));
    }
    std::string out;
    for (size_t i = 0; i < value.size(); i++) {
        if (value[i] == '%' && i + 2 < value.size() &&
            is_hex_digit(value[i + 1]) && is_hex_digit(value[i + 2])) {
            out.push_back(static_cast<char>(hex_value(value[i + 1]) * 16 +
                                            hex_value(value[i + 2])));
            i += 2;
        } else {
            out.push_back(value[i]);
        }
    }
    return out;
}

/* Each pair of a Cookie header: the pair as written, its name (blanks
 * taken off) and what revocations remember of it, name=value with the
 * value as cookie_value() reads it. */
template <typename Visit>
void
each_cookie(std::string_view header, Visit visit)
{
    while (!header.empty()) {
        size_t end = header.find(';');
        std::string_view pair = trimmed(header.substr(0, end));
        header = end == std::string_view::npos ? std::string_view()
                                               : header.substr(end + 1);
        if (pair.empty()) {
            continue;
        }
        size_t eq = pair.find('=');
        std::string_view name = trimmed(pair.substr(0, eq));
        std::string key(name);
        key += '=';
        if (eq != std::string_view::npos) {
            key += cookie_value(pair.substr(eq + 1));
        }
        visit(pair, name, key);
    }
}

bool
provider_cookie(const ProviderConfig &config, std::string_view name)
{
    for (const std::string &n : config.cookie_names) {
        if (n == name) {
            return true;
        }
    }
    return false;
}

} // namespace

Learned
observe_authorization(const ProviderConfig &config, const Observation &o)
{
    Learned out;
    AuthorizationResponse a;
    bool parsed = false;
    if (o.status == 302 || o.status == 303 || o.status == 307) {
        parsed = parse_redirect(o.location, a);
    } else if (o.status == 200) {
        parsed = parse_form_post(o.body, a);
    }
    const Client *client =
        parsed && (!a.code.empty() || !a.id_token.empty()) &&
                config.clients != nullptr && o.store != nullptr
            ? client_of(*config.clients, a.redirect_uri, a.appended, o.request)
            : nullptr;
    if (client == nullptr) {
        return out; /* not a successful authorization response */
    }

    Hint claims;
    if (!a.id_token.empty() &&
        !verify_id_token(config, o, a.id_token, client->id, claims, out)) {
        claims = Hint(); /* the client still joins; nothing is bound */
    }
    uint32_t now = static_cast<uint32_t>(o.now);
    /* the browser's session, under a fresh handle at every sign-in: a
     * cookie planted in the browser never learns whose session it is */
    ol_session_info info;
    unsigned evicted = 0;
    ol_status rc = o.handle.empty()
                       ? OL_DENIED
                       : o.store->learn(o.handle, false, client->id, claims.sid,
                                        claims.sub, now, &info, nullptr,
                                        evicted, &out.handle);
    if (rc == OL_DENIED) {
        ol_login_result started;
        rc = o.store->start(now, started);
        if (rc == OL_OK) {
            out.handle = started.handle;
            rc = o.store->learn(out.handle, false, client->id, claims.sid,
                                claims.sub, now, &info, nullptr, evicted);
        }
    }
    out.set_cookie = rc == OL_OK;
    if (rc != OL_OK) {
        out.log_reason = "the session of an authorization response for " +
                         quoted(client->id) + " could not be stored";
        return out;
    }
    if (!a.code.empty()) {
        o.store->remember_code(a.code, info.sid, client->id,
                               now + code_remember);
    }
    out.learned = true;
    return out;
}

Learned
observe_token(const ProviderConfig &config, const Observation &o)
{
    Learned out;
    Params p({"grant_type", "code"});
    std::string reason;
    const std::string *grant = nullptr;
    const std::string *code = nullptr;
    if (o.store == nullptr || o.status != 200 || !p.parse(o.request, reason) ||
        (grant = p.get("grant_type")) == nullptr ||
        *grant != "authorization_code" || (code = p.get("code")) == nullptr) {
        return out;
    }
    TokenJson answer;
    std::string_view id_token;
    if (!answer.parse(std::string(o.body)) ||
        (id_token = answer.string("id_token")).empty()) {
        return out;
    }
    /* signed by a key of the set; or, when its key is not known yet (a
     * rotation, or no keys fetched yet), taken on the word of the channel:
     * nginx got it straight from the provider (OpenID Connect Core 1.0
     * §3.1.3.7, step 6), and the keys are refreshed */
    Hint claims;
    if (!verify_id_token(config, o, id_token, std::string_view(), claims,
                         out)) {
        if ((o.keys != nullptr && !out.unknown_kid) ||
            !KeySet::read_direct(id_token, config.issuer, config.clients, o.now,
                                 claims, reason)) {
            return out;
        }
        out.log_reason.clear();
    }
    uint32_t now = static_cast<uint32_t>(o.now);
    std::string sid;
    if (!o.store->take_code(*code, claims.client_id, now, sid)) {
        return out; /* no code of ours: nothing changes */
    }
    ol_session_info info;
    unsigned evicted = 0;
    ol_status rc = o.store->learn(sid, true, claims.client_id, claims.sid,
                                  claims.sub, now, &info, nullptr, evicted);
    if (rc != OL_OK && rc != OL_DENIED) {
        out.log_reason = "the ID token for " + quoted(claims.client_id) +
                         " could not be bound to its session";
        return out;
    }
    out.learned = rc == OL_OK;
    return out;
}

bool
drop_revoked_cookies(const ProviderConfig &config, SessionStore &store,
                     std::string_view cookie, uint32_t now, std::string &out)
{
    bool dropped = false;
    out.clear();
    each_cookie(cookie, [&](std::string_view pair, std::string_view name,
                            const std::string &key) {
        if (provider_cookie(config, name) && store.revoked(key, now)) {
            dropped = true;
            return;
        }
        if (!out.empty()) {
            out += "; ";
        }
        out += pair;
    });
    return dropped;
}

std::vector<std::string>
revoke_cookies(const ProviderConfig &config, SessionStore &store,
               std::string_view cookie, uint32_t now)
{
    /* a browser sends one value a name (or a few, set on several paths):
     * a request that carries more cannot flush what the zone remembers */
    std::vector<std::string> expire;
    size_t revoked = 0;
    each_cookie(cookie, [&](std::string_view, std::string_view name,
                            const std::string &key) {
        if (!provider_cookie(config, name) ||
            revoked >= max_revoked_per_name * config.cookie_names.size()) {
            return;
        }
        revoked++;
        store.revoke(key, now + config.cookie_remember);
        std::string set(name);
        set += "=; Path=" + config.cookie_path +
               "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT";
        if (name.rfind("__Secure-", 0) == 0 || name.rfind("__Host-", 0) == 0) {
            set += "; Secure";
        }
        if (std::find(expire.begin(), expire.end(), set) == expire.end()) {
            expire.push_back(std::move(set));
        }
    });
    return expire;
}

} // namespace oidc_logout
