// The client registry: OpenID Connect client metadata loaded from JSON.
#pragma once

#include "allowlist.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

struct json_t;

namespace oidc_logout {

struct Client {
    std::string id;
    size_t index = 0; /* position in the file */
    std::vector<std::string> redirect_uris;
    std::vector<std::string> post_logout_redirect_uris;
    std::unordered_set<std::string> post_logout_canonical;
    Allowlist allowed_logout_urls;
    std::string frontchannel_logout_uri;
    std::string frontchannel_origin; /* its scheme://host[:port] */
    bool frontchannel_logout_session_required = false;
    std::string backchannel_logout_uri;
    bool backchannel_logout_session_required = false;
    /* registered as false: its logout tokens carry sub and no sid */
    bool backchannel_sid_refused = false;
    bool skip_logout_confirmation = false;

    /* Exact match, query included, after normalisation. */
    bool allows_post_logout(const Url &candidate) const;
};

class ClientRegistry {
  public:
    /* Both return nullptr and set error ("<file>: client ..., field ...:
     * reason") when the registry is unusable. */
    static std::unique_ptr<ClientRegistry> load_file(const std::string &path,
                                                     std::string &error);
    static std::unique_ptr<ClientRegistry>
    parse(std::string_view json, const std::string &name, std::string &error);

    const Client *find(std::string_view client_id) const;
    /* The first client (in the file's order) whose notifications carry the
     * issuer, or nullptr. */
    const Client *needing_issuer() const;
    /* The clients in the order of the file. */
    const std::vector<const Client *> &
    in_order() const
    {
        return order_;
    }
    size_t
    size() const
    {
        return clients_.size();
    }

  private:
    static std::unique_ptr<ClientRegistry>
    from_json(json_t *root, const std::string &name, std::string &error);

    std::unordered_map<std::string, Client> clients_;
    std::vector<const Client *> order_;
};

} // namespace oidc_logout
