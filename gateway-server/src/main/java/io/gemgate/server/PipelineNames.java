package io.gemgate.server;

/**
 * Names and order of the client connection's handlers, in one place ({@link ServerInitializer} adds them in this
 * order):
 *
 * <pre>
 *   socket
 *     -> {@value #CONNECTIONS}  counts connections, refuses those past server.maxConnections; raw answer bytes are
 *                               written from its context, past the encoder (ClientWriter.writeRaw)
 *     -> {@value #CODEC}        ServerCodec: request line, headers and body chunks; the encoder of every answer that
 *                               is not raw bytes (told by the writer whether the request was a HEAD)
 *     -> {@value #FLOW}         FlowControlHandler: one message per read(), since auto-read is off
 *     -> {@value #WRITER}       ClientWriter: the one writer of the connection (keep-alive or close, HEAD, lingering
 *                               close); holds a pipelined request while an answer is under way; the connection's timer
 *     -> {@value #FRAMING}      FramingHandler: decoder failures (400/414/431), version (505), method (501), CL+TE,
 *                               Host and target (400); the request head's deadline (408)
 *     -> {@value #CORS}         CorsHandler: the answers' CORS fields; OPTIONS on an API route (204/403)
 *     -> {@value #LOCAL}        LocalHandler: /health, /healthz, /ready, /metrics, the admin page
 *     -> {@value #ROUTING}      RoutingHandler: Route.of (404/405)
 *     -> {@value #AUTH}         AuthHandler: the admin token, the client token or a user token (401)
 *     -> {@value #BODY}         BodyHandler: the body read whole under the size limit (413) and the read timeout (408)
 *     -> {@value #EXCHANGE}     ExchangeHandler: the admin API, or the route's Exchange (model allowed, user limits)
 * </pre>
 *
 * No aggregator and no compressor: answers are relayed as they come and SSE events are flushed one by one
 * (docs/architecture.md).
 */
public final class PipelineNames {
    public static final String CONNECTIONS = "connections";
    public static final String CODEC = "http-codec";
    public static final String FLOW = "flow-control";
    public static final String WRITER = "writer";
    public static final String FRAMING = "framing";
    public static final String CORS = "cors";
    public static final String LOCAL = "local";
    public static final String ROUTING = "routing";
    public static final String AUTH = "auth";
    public static final String BODY = "body";
    public static final String EXCHANGE = "exchange";

    private PipelineNames() {
    }
}
