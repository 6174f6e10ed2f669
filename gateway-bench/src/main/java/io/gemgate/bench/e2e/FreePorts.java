package io.gemgate.bench.e2e;

import java.io.IOException;

/**
 * Prints {@code n} ports free on 127.0.0.1 (default 1), one a line, for scripts that start servers unable to report
 * the port they bound ({@code scripts/compare.sh}).
 */
public final class FreePorts {
    private FreePorts() {
    }

    public static void main(String[] args) throws IOException {
        int n = args.length == 0 ? 1 : Integer.parseInt(args[0]);
        for (int p : Net.freePorts(n)) {
            System.out.println(p);
        }
    }
}
