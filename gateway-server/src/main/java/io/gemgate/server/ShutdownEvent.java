package io.gemgate.server;

/** Fired on every client connection when the gateway stops: idle ones close, busy ones close after their answer. */
public final class ShutdownEvent {
    public static final ShutdownEvent INSTANCE = new ShutdownEvent();

    private ShutdownEvent() {
    }
}
