#include "client_registry.hpp"

#include "../oidc_logout_core.h"
#include "text.hpp"

#include "json.hpp"

#include <algorithm>
#include <cstring>

namespace oidc_logout {

namespace {

/* What a client_id may not hold: control characters, and the characters
 * of HTML markup (it is shown in pages and logs, and no provider needs
 * them). */
bool
refused_in_client_id(char c)
{
    auto b = static_cast<unsigned char>(c);
    return b < 0x20 || b == 0x7f || std::strchr("<>\"'&`", c) != nullptr;
}

/* Collects the context of an error: "<file>: client <id>: <field>". */
class Where {
  public:
    Where(const std::string &file, std::string &error)
        : file_(file), error_(error)
    {
    }

    void
    client(size_t index, const std::string &id)
    {
        client_ = id.empty() ? "#" + std::to_string(index + 1) : quoted(id);
    }

    bool
    fail(const std::string &field, const std::string &reason)
    {
        error_ = quoted(file_, 1024);
        if (!client_.empty()) {
            error_ += ": client " + client_;
        }
        if (!field.empty()) {
            error_ += ": " + field;
        }
        error_ += ": " + reason;
        return false;
    }

  private:
    const std::string &file_;
    std::string &error_;
    std::string client_;
};

bool
read_string(json_t *obj, const char *field, std::string &out, Where &where)
{
    json_t *v = json_object_get(obj, field);
    if (v == nullptr || json_is_null(v)) {
        return true;
    }
    if (!json_is_string(v)) {
        return where.fail(field, "must be a string");
    }
    out.assign(json_string_value(v), json_string_length(v));
    return true;
}

bool
read_bool(json_t *obj, const char *field, bool &out, Where &where)
{
    json_t *v = json_object_get(obj, field);
    if (v == nullptr || json_is_null(v)) {
        return true;
    }
    if (!json_is_boolean(v)) {
        return where.fail(field, "must be true or false");
    }
    out = json_is_true(v);
    return true;
}

bool
read_string_array(json_t *obj, const char *field, std::vector<std::string> &out,
                  Where &where)
{
    json_t *v = json_object_get(obj, field);
    if (v == nullptr || json_is_null(v)) {
        return true;
    }
    if (!json_is_array(v)) {
        return where.fail(field, "must be an array of strings");
    }
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        if (!json_is_string(item)) {
            return where.fail(std::string(field) + "[" + std::to_string(i) +
                                  "]",
                              "must be a string");
        }
        out.emplace_back(json_string_value(item), json_string_length(item));
    }
    return true;
}

std::string
item_name(const char *field, size_t i, const std::string &value)
{
    return std::string(field) + "[" + std::to_string(i) + "] " + quoted(value);
}

/* A logout URI that the module itself will call or redirect to. */
bool
check_logout_uri(const std::string &value, const std::string &field,
                 Url &parsed, Where &where)
{
    std::string reason;
    if (!parse_url(value, UrlKind::candidate, parsed, reason)) {
        return where.fail(field, reason);
    }
    if (is_forbidden_scheme(parsed.scheme)) {
        return where.fail(field,
                          "scheme \"" + parsed.scheme + "\" is not allowed");
    }
    return true;
}

/* Whether one of uris (parsed leniently: a native application's custom
 * URI is simply no match) has origin. */
bool
has_origin(const std::vector<std::string> &uris, const std::string &origin)
{
    for (const std::string &uri : uris) {
        Url parsed;
        std::string reason;
        if (parse_url(uri, UrlKind::candidate, parsed, reason) &&
            parsed.origin() == origin) {
            return true;
        }
    }
    return false;
}

bool
read_client(json_t *obj, size_t index, Client &c, Where &where)
{
    where.client(index, "");
    if (!json_is_object(obj)) {
        return where.fail("", "must be a JSON object");
    }
    json_t *id = json_object_get(obj, "client_id");
    if (id == nullptr) {
        return where.fail("client_id", "missing");
    }
    if (!json_is_string(id) || json_string_length(id) == 0) {
        return where.fail("client_id", "must be a non-empty string");
    }
    if (json_string_length(id) > OL_CLIENT_ID_MAX) {
        return where.fail("client_id", "longer than 255 bytes");
    }
    c.id.assign(json_string_value(id), json_string_length(id));
    auto refused = std::find_if(c.id.begin(), c.id.end(), refused_in_client_id);
    if (refused != c.id.end()) {
        return where.fail("client_id " + quoted(c.id),
                          "character " + quoted(std::string(1, *refused)) +
                              " is not allowed (no control characters, "
                              "nor < > \" ' & `)");
    }
    where.client(index, c.id);

    if (!read_string_array(obj, "redirect_uris", c.redirect_uris, where) ||
        !read_string_array(obj, "post_logout_redirect_uris",
                           c.post_logout_redirect_uris, where) ||
        !read_string(obj, "frontchannel_logout_uri", c.frontchannel_logout_uri,
                     where) ||
        !read_bool(obj, "frontchannel_logout_session_required",
                   c.frontchannel_logout_session_required, where) ||
        !read_string(obj, "backchannel_logout_uri", c.backchannel_logout_uri,
                     where) ||
        !read_bool(obj, "backchannel_logout_session_required",
                   c.backchannel_logout_session_required, where) ||
        !read_bool(obj, "skip_logout_confirmation", c.skip_logout_confirmation,
                   where)) {
        return false;
    }
    c.backchannel_sid_refused = json_is_false(
        json_object_get(obj, "backchannel_logout_session_required"));

    Url parsed;
    for (size_t i = 0; i < c.post_logout_redirect_uris.size(); i++) {
        const std::string &uri = c.post_logout_redirect_uris[i];
        if (!check_logout_uri(uri,
                              item_name("post_logout_redirect_uris", i, uri),
                              parsed, where)) {
            return false;
        }
        c.post_logout_canonical.insert(parsed.canonical());
    }

    std::vector<std::string> allowed;
    if (!read_string_array(obj, "allowed_logout_urls", allowed, where)) {
        return false;
    }
    for (size_t i = 0; i < allowed.size(); i++) {
        std::string reason;
        if (!c.allowed_logout_urls.add(allowed[i], reason)) {
            return where.fail(item_name("allowed_logout_urls", i, allowed[i]),
                              reason);
        }
    }

    if (!c.frontchannel_logout_uri.empty()) {
        std::string field =
            "frontchannel_logout_uri " + quoted(c.frontchannel_logout_uri);
        if (!check_logout_uri(c.frontchannel_logout_uri, field, parsed,
                              where)) {
            return false;
        }
        /* the page frames it: it must be the application's own site */
        c.frontchannel_origin = parsed.origin();
        if (!has_origin(c.redirect_uris, c.frontchannel_origin)) {
            return where.fail(field, "its scheme, host and port match none "
                                     "of the client's redirect_uris");
        }
    }
    if (!c.backchannel_logout_uri.empty()) {
        std::string field =
            "backchannel_logout_uri " + quoted(c.backchannel_logout_uri);
        if (!check_logout_uri(c.backchannel_logout_uri, field, parsed, where)) {
            return false;
        }
        /* the module itself posts to it */
        if (parsed.scheme != "http" && parsed.scheme != "https") {
            return where.fail(field, "the scheme must be http or https");
        }
    }
    return true;
}

} // namespace

bool
Client::allows_post_logout(const Url &candidate) const
{
    return post_logout_canonical.count(candidate.canonical()) != 0;
}

std::unique_ptr<ClientRegistry>
ClientRegistry::from_json(json_t *root, const std::string &name,
                          std::string &error)
{
    Where where(name, error);
    json_t *list = root;
    if (json_is_object(root)) {
        list = json_object_get(root, "clients");
        if (list == nullptr) {
            where.fail("", "an object must have a \"clients\" array");
            return nullptr;
        }
    }
    if (!json_is_array(list)) {
        where.fail("", "expected an array of clients or "
                       "{\"clients\": [...]}");
        return nullptr;
    }
    std::unique_ptr<ClientRegistry> registry(new ClientRegistry());
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        Client c;
        if (!read_client(item, i, c, where)) {
            return nullptr;
        }
        c.index = i;
        std::string id = c.id;
        auto added = registry->clients_.emplace(id, std::move(c));
        if (!added.second) {
            where.fail("client_id", "duplicate client_id");
            return nullptr;
        }
        /* unordered_map keeps its elements where they are */
        registry->order_.push_back(&added.first->second);
    }
    return registry;
}

std::unique_ptr<ClientRegistry>
ClientRegistry::parse(std::string_view json, const std::string &name,
                      std::string &error)
{
    JsonPtr root = json_read_text(json, name, error);
    return root ? from_json(root.get(), name, error) : nullptr;
}

std::unique_ptr<ClientRegistry>
ClientRegistry::load_file(const std::string &path, std::string &error)
{
    JsonPtr root = json_read_file(path, error);
    return root ? from_json(root.get(), path, error) : nullptr;
}

const Client *
ClientRegistry::find(std::string_view client_id) const
{
    auto it = clients_.find(std::string(client_id));
    return it == clients_.end() ? nullptr : &it->second;
}

const Client *
ClientRegistry::needing_issuer() const
{
    for (const Client *client : order_) {
        const Client &c = *client;
        if ((!c.frontchannel_logout_uri.empty() &&
             c.frontchannel_logout_session_required) ||
            !c.backchannel_logout_uri.empty()) {
            return &c;
        }
    }
    return nullptr;
}

} // namespace oidc_logout
