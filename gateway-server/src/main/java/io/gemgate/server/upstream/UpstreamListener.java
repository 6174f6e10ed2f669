package io.gemgate.server.upstream;

import io.netty.handler.codec.http.HttpContent;

/**
 * Receives what one upstream connection delivers while it serves one request. All calls come on the connection's
 * event loop, which is the client connection's loop too.
 */
public interface UpstreamListener {
    /** The response head (status, fields, framing). Interim 1xx answers are not delivered. */
    void onResponseHead(UpstreamHead head);

    /**
     * A body piece, its framing taken off; the last one is a {@link io.netty.handler.codec.http.LastHttpContent}.
     * The listener owns {@code content} and must release or forward it.
     */
    void onContent(HttpContent content);

    /** The end of one read batch: the time to flush what was forwarded and to ask for more. */
    void onReadComplete();

    /** The connection closed (or was found unusable and closed) while this listener was attached. */
    void onInactive();

    /** No body bytes arrived within the stream idle timeout. */
    void onStreamIdle();
}
