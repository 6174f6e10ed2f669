package io.gemgate.server.upstream;

import io.gemgate.core.egress.Exit;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.proxy.ProxyConnectException;

/**
 * A connection through an exit could not be made: the proxy refused the connection or the tunnel, or did not open it
 * in time. The exit's failure, not the key's. The message names the exit by {@code host:port} only.
 */
public final class ExitConnectException extends java.io.IOException {
    private final Exit exit;
    private final Exit.Failure reason;

    private ExitConnectException(Exit exit, Exit.Failure reason, String message) {
        super(message);
        this.exit = exit;
        this.reason = reason;
    }

    /** Wraps the cause of a failed connection through {@code exit}. */
    static ExitConnectException of(Exit exit, Throwable cause) {
        if (cause instanceof ExitConnectException e) {
            return e;
        }
        boolean timeout = cause instanceof ConnectTimeoutException
                || (cause instanceof ProxyConnectException && String.valueOf(cause.getMessage()).contains("timeout"));
        Exit.Failure reason = timeout ? Exit.Failure.TIMEOUT : Exit.Failure.REFUSED;
        // Netty's proxy exceptions name the proxy's address and the status, never the credentials.
        String why = cause == null ? "closed" : cause.getClass().getSimpleName() + ": " + cause.getMessage();
        return new ExitConnectException(exit, reason, "exit " + exit.label() + " " + reason.label() + " (" + why + ")");
    }

    public Exit exit() {
        return exit;
    }

    public Exit.Failure reason() {
        return reason;
    }
}
