package io.gemgate.server;

import io.gemgate.core.anthropic.AnthropicRequestException;
import io.gemgate.core.anthropic.TranslatedMessagesRequest;
import io.gemgate.core.metrics.GatewayEvents;
import io.gemgate.core.settings.RuntimeSettings;
import io.gemgate.server.proxy.AnthropicExchange;
import io.gemgate.server.proxy.ClientConnection;
import io.gemgate.server.proxy.Exchange;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpRequest;

/** The Anthropic Messages routes: {@code POST /v1/messages} and {@code /v1/messages/count_tokens}. */
final class AnthropicRoutes {
    private AnthropicRoutes() {
    }

    /**
     * The exchange for {@code route}; the request body's ownership passes (it is released here once read).
     *
     * @throws AnthropicRequestException for a bad request (400), before any upstream call
     */
    static Exchange exchange(Route route, GatewayContext gw, ClientConnection client, HttpRequest req, ByteBuf body,
                             String path, boolean keepAlive) {
        try {
            RuntimeSettings s = gw.settings();
            TranslatedMessagesRequest t = route == Route.ANTHROPIC_COUNT_TOKENS
                    ? gw.anthropic().requests().translateCount(body, s.systemInstruction())
                    : gw.anthropic().requests().translate(body, s.defaultThinking(), s.systemInstruction());
            return new AnthropicExchange(gw, client, req.protocolVersion(), t, route.label, path, keepAlive);
        } finally {
            body.release();
        }
    }
}
