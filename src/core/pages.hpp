// The HTML pages of the logout endpoint, and operators' templates of them.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace oidc_logout {

enum class PageKind { logged_out = 0, error = 1, confirm = 2 };

/* Content-Security-Policy of every page: nothing loads, nothing frames it,
 * forms post only to this origin. */
extern const char page_csp[];

/* The confirmation page's policy: page_csp, and the answer to its form may
 * also redirect to next_origin, the scheme://host[:port] of the registered
 * post_logout_redirect_uri the confirmed request goes to (browsers check
 * form-action on every redirect of a form's submission).  An empty
 * next_origin gives page_csp. */
std::string confirm_csp(std::string_view next_origin);

/*
 * A page template: HTML with the placeholders {{title}}, {{message}} and
 * (confirm pages) {{form}}, replaced by escaped text and generated HTML.
 */
class PageTemplate {
  public:
    /* nullptr and error when the file cannot serve as that page. */
    static std::unique_ptr<PageTemplate>
    load_file(const std::string &path, PageKind kind, std::string &error);
    static std::unique_ptr<PageTemplate> parse(std::string_view text,
                                               PageKind kind,
                                               const std::string &name,
                                               std::string &error);

    std::string render(std::string_view title, std::string_view message,
                       std::string_view form_html) const;

  private:
    std::string text_;
};

/* The built-in template of a kind. */
const PageTemplate &default_page(PageKind kind);

} // namespace oidc_logout
