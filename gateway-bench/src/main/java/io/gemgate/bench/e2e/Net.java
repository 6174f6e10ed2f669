package io.gemgate.bench.e2e;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** The transport of the bench's own servers and clients: epoll where it loads (Linux), NIO elsewhere. */
final class Net {
    private Net() {
    }

    /** Loaded on first use, so that {@link #quietNetty()} runs before any Netty class (and its logging) exists. */
    private static final class Epolls {
        static final boolean AVAILABLE = Epoll.isAvailable();
    }

    static boolean epoll() {
        return Epolls.AVAILABLE;
    }

    /**
     * Called first thing in every {@code main} of this package, before any Netty class is loaded (they read it once):
     * the leak detector samples buffers and would distort the figures; a bench needs none of it.
     */
    static void quietNetty() {
        if (System.getProperty("io.netty.leakDetection.level") == null) {
            System.setProperty("io.netty.leakDetection.level", "disabled");
        }
    }

    static String name() {
        return epoll() ? "epoll" : "nio";
    }

    static EventLoopGroup group(int threads, String name) {
        IoHandlerFactory f = epoll() ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), f);
    }

    static Class<? extends ServerSocketChannel> serverChannel() {
        return epoll() ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    static Class<? extends SocketChannel> socketChannel() {
        return epoll() ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    /**
     * {@code n} distinct ports free on 127.0.0.1 right now (all held open together, then closed), for servers that
     * cannot report the port they bound (nginx, haproxy, a child gateway). Another process may take one before it is
     * used; the caller then fails to start and says so.
     */
    static int[] freePorts(int n) throws IOException {
        ServerSocket[] held = new ServerSocket[n];
        int[] ports = new int[n];
        try {
            for (int i = 0; i < n; i++) {
                held[i] = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                ports[i] = held[i].getLocalPort();
            }
        } finally {
            for (ServerSocket s : held) {
                if (s != null) {
                    s.close();
                }
            }
        }
        return ports;
    }
}
