package io.gemgate.server;

/**
 * Names and order of the client connection's handlers, in one place:
 *
 * <pre>
 *   socket
 *     -> {@value #CONNECTIONS}  counts connections, refuses those past server.maxConnections
 *     -> {@value #CODEC}        ServerCodec: request line, headers (limits give 414/431) and body chunks; the
 *                               encoder of the gateway's own answers (the pass-through writes raw bytes from
 *                               {@value #CONNECTIONS}'s context, past the encoder)
 *     -> {@value #FLOW}         FlowControlHandler: one message per read(), since auto-read is off
 *     -> {@value #CLIENT}       ClientHandler: framing, limits, auth, routing, body, then an Exchange
 * </pre>
 *
 * No aggregator and no compressor: bodies are relayed as they come and SSE events are flushed one by one
 * (docs/architecture.md).
 */
public final class PipelineNames {
    public static final String CONNECTIONS = "connections";
    public static final String CODEC = "http-codec";
    public static final String FLOW = "flow-control";
    public static final String CLIENT = "client";

    private PipelineNames() {
    }
}
