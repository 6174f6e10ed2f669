package io.gemgate.server.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpObject;

/**
 * What an {@link Exchange} sees of its client connection: the connection's one writer (every byte to the client goes
 * through it), whether the connection may stay open, the current request's CORS fields and log hints, the
 * connection's timer, and where the exchange says it is done. Implemented by {@code io.gemgate.server.ClientWriter},
 * one per connection.
 *
 * <p>Every method runs on the connection's event loop ({@link #eventLoop()}), which is also the loop of the
 * exchange's upstream connections. Ownership: a message given to a write method passes to the connection (the write
 * releases it, also when it fails).
 */
public interface ClientConnection {
    /** The connection's allocator, for buffers written to the client. */
    ByteBufAllocator alloc();

    /** The connection's event loop: the exchange's timers and upstream connections run on it. */
    EventLoop eventLoop();

    /** Writes an HTTP object (a head, a content, a whole answer) through the encoder, unflushed; ownership passes. */
    void write(HttpObject msg);

    /** {@link #write} and flush. */
    void writeAndFlush(HttpObject msg);

    /**
     * Writes raw answer bytes past the encoder, unflushed; ownership passes. Only for an exchange that writes a whole
     * answer this way, head and body with its own framing (the native pass-through); never mixed with
     * {@link #write} in one answer.
     */
    void writeRaw(ByteBuf bytes);

    /** {@link #writeRaw} and flush. */
    void writeRawAndFlush(ByteBuf bytes);

    void flush();

    /** False while the client's socket buffer is above its high water mark: stop reading the upstream. */
    boolean isWritable();

    /**
     * True when the connection may stay open after the current answer: the client asked for keep-alive and the
     * gateway is not stopping. False means the answer says {@code Connection: close} and the connection closes after
     * it.
     */
    boolean keepAlive();

    /**
     * The current request's CORS fields as header lines ({@code Access-Control-Allow-Origin},
     * {@code Access-Control-Expose-Headers}, {@code Vary}), for an answer head written as bytes; null when there are
     * none. The caller must not change the array.
     */
    byte[] corsFields();

    /** {@code line} as the access log may show it: keys and the client's token in it cut to their hints. */
    String forLog(String line);

    /** The current request's token as the access log shows it ({@code AccessLog.tokenHint}). */
    String tokenHint();

    /** The client's IP address as text ("" when unknown), for the request log; made once per connection. */
    String clientAddress();

    /**
     * Sets the connection's one deadline to {@code millis} from {@code nowNanos}, for {@code owner}: its
     * {@link Deadline#onDeadline()} runs then unless cleared or replaced first. The connection keeps one deadline at
     * a time in a field and one wake-up task, so setting or clearing one per request touches no timer queue.
     */
    void deadline(Deadline owner, long millis, long nowNanos);

    /** Clears the deadline if {@code owner} set it; a deadline of another owner stays. */
    void clearDeadline(Deadline owner);

    /**
     * The exchange's answer is written (or abandoned): the connection goes on with the next request, or closes.
     *
     * @param close    true when the connection must close after the answer
     * @param nowNanos {@link System#nanoTime()}, read by the exchange
     */
    void exchangeDone(boolean close, long nowNanos);

    /** Something with a deadline on the connection's timer. */
    interface Deadline {
        /** The deadline passed; runs on the connection's event loop. */
        void onDeadline();
    }
}
