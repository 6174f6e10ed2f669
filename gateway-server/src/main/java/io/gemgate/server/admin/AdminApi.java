package io.gemgate.server.admin;

import io.gemgate.server.GatewayContext;

/**
 * The admin REST API under {@code /admin/api}. The caller (ClientHandler) has checked the admin token and read the
 * whole body; this runs on the connection's event loop, so it must not block.
 */
public final class AdminApi {
    private final GatewayContext gw;

    public AdminApi(GatewayContext gw) {
        this.gw = gw;
    }

    /**
     * @param method HTTP method
     * @param path   the path, starting with {@code /admin/api}
     * @param query  the query string without {@code ?}, or ""
     * @param body   the request body (empty when none)
     */
    public AdminResponse handle(String method, String path, String query, byte[] body) {
        return AdminResponse.error(404, "no admin route for " + method + " " + path + " (" + gw.pool().keys().size()
                + " keys)", null);
    }
}
