package io.gemgate.testing;

import java.util.concurrent.CountDownLatch;

/**
 * Runs the fake upstream on its own, for load runs by hand: prints its base URL and serves until killed. Every key
 * gets the default answers.
 */
public final class FakeGeminiMain {
    private FakeGeminiMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        FakeGemini fake = FakeGemini.start();
        System.out.println(fake.baseUrl());
        Runtime.getRuntime().addShutdownHook(new Thread(fake::close));
        new CountDownLatch(1).await();
    }
}
