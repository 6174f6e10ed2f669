package io.gemgate.core.openai;

import io.netty.buffer.ByteBuf;

import java.io.OutputStream;

/** An {@link OutputStream} appending to a swappable {@link ByteBuf}; reused for every frame of a stream. */
final class ByteBufSink extends OutputStream {
    private ByteBuf target;

    ByteBufSink target(ByteBuf target) {
        this.target = target;
        return this;
    }

    @Override
    public void write(int b) {
        target.writeByte(b);
    }

    @Override
    public void write(byte[] b, int off, int len) {
        target.writeBytes(b, off, len);
    }
}
