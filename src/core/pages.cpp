#include "pages.hpp"

#include "text.hpp"

#include <fstream>
#include <sstream>

namespace oidc_logout {

const char page_csp[] = "default-src 'none'; base-uri 'none'; "
                        "form-action 'self'; frame-ancestors 'none'";

std::string
confirm_csp(std::string_view next_origin)
{
    std::string csp = page_csp;
    if (!next_origin.empty()) {
        /* a URL parsed strictly: its origin holds no space, ';' nor ',' */
        csp.insert(csp.find("; frame-ancestors"),
                   " " + std::string(next_origin));
    }
    return csp;
}

namespace {

/* Longest template file accepted, in bytes. */
constexpr size_t max_template_length = 65536;

const char default_text[] = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                            "<meta charset=\"utf-8\">\n"
                            "<meta name=\"viewport\" content=\"width=device-"
                            "width, initial-scale=1\">\n"
                            "<title>{{title}}</title>\n</head>\n<body>\n"
                            "<main>\n<h1>{{title}}</h1>\n<p>{{message}}</p>\n"
                            "{{form}}</main>\n</body>\n</html>\n";

const char *const placeholders[] = {"{{title}}", "{{message}}", "{{form}}"};

} // namespace

std::unique_ptr<PageTemplate>
PageTemplate::parse(std::string_view text, PageKind kind,
                    const std::string &name, std::string &error)
{
    std::string where = quoted(name, 1024) + ": ";
    if (text.size() > max_template_length) {
        error = where + "longer than 65536 bytes";
        return nullptr;
    }
    for (size_t at = text.find("{{"); at != std::string_view::npos;
         at = text.find("{{", at + 2)) {
        bool known = false;
        for (const char *p : placeholders) {
            known = known || text.substr(at).rfind(p, 0) == 0;
        }
        if (!known) {
            size_t end = text.find("}}", at);
            error = where + "unknown placeholder " +
                    quoted(text.substr(
                        at, end == std::string_view::npos ? 16 : end + 2 - at));
            return nullptr;
        }
    }
    if (kind == PageKind::confirm &&
        text.find("{{form}}") == std::string_view::npos) {
        error = where + "a confirmation page needs {{form}}";
        return nullptr;
    }
    std::unique_ptr<PageTemplate> t(new PageTemplate());
    t->text_.assign(text);
    return t;
}

std::unique_ptr<PageTemplate>
PageTemplate::load_file(const std::string &path, PageKind kind,
                        std::string &error)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = quoted(path, 1024) + ": cannot be read";
        return nullptr;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse(text.str(), kind, path, error);
}

std::string
PageTemplate::render(std::string_view title, std::string_view message,
                     std::string_view form_html) const
{
    std::string out;
    out.reserve(text_.size() + message.size() + form_html.size() + 64);
    size_t from = 0;
    for (size_t at = text_.find("{{"); at != std::string::npos;
         at = text_.find("{{", from)) {
        out.append(text_, from, at - from);
        std::string_view rest = std::string_view(text_).substr(at);
        if (rest.rfind("{{title}}", 0) == 0) {
            out += html_escape(title);
            from = at + 9;
        } else if (rest.rfind("{{message}}", 0) == 0) {
            out += html_escape(message);
            from = at + 11;
        } else if (rest.rfind("{{form}}", 0) == 0) {
            out += form_html;
            from = at + 8;
        } else {
            out += "{{";
            from = at + 2;
        }
    }
    out.append(text_, from, std::string::npos);
    return out;
}

const PageTemplate &
default_page(PageKind)
{
    static const std::unique_ptr<PageTemplate> page = [] {
        std::string error;
        return PageTemplate::parse(default_text, PageKind::confirm, "default",
                                   error);
    }();
    return *page;
}

} // namespace oidc_logout
