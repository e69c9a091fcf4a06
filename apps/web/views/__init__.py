"""The pages, one module per page. Every view is login-required and reaches objects through
`apps.web.access`, which answers 404 for another team's service."""
