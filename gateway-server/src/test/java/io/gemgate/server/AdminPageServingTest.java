package io.gemgate.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The admin page's files come from the jar, with safe headers, and nothing else does. */
@ExtendWith(LeakDetection.class)
class AdminPageServingTest {
    private static GatewayHarness gw;

    @BeforeAll
    static void start() {
        gw = GatewayHarness.start(1);
    }

    @AfterAll
    static void stop() {
        gw.close();
    }

    private static HttpResponse<String> get(String path) {
        return gw.send(gw.request(path).GET().build());
    }

    @Test
    void thePageIsServedWithoutATokenWithSecurityHeaders() {
        HttpResponse<String> r = get("/admin/");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).contains("text/html; charset=utf-8");
        assertThat(r.headers().firstValue("content-security-policy").orElse("")).contains("default-src 'self'");
        assertThat(r.headers().firstValue("x-frame-options")).contains("DENY");
        assertThat(r.body()).contains("<title>Gemgate admin</title>");
    }

    @Test
    void adminWithoutSlashRedirects() {
        HttpResponse<String> r = get("/admin");
        assertThat(r.statusCode()).isEqualTo(301);
        assertThat(r.headers().firstValue("location")).contains("/admin/");
    }

    @Test
    void chartJsComesFromItsWebJar() {
        HttpResponse<String> r = get("/admin/vendor/chart.umd.js");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).contains("text/javascript; charset=utf-8");
        assertThat(r.body()).contains("Chart.js v4.4.1");
    }

    @Test
    void unknownFilesTraversalAndOtherMethodsAreRefused() {
        assertThat(get("/admin/nope.js").statusCode()).isEqualTo(404);
        assertThat(get("/admin/..%2f..%2fetc/passwd").statusCode()).isEqualTo(400); // encoded slash: refused
        assertThat(get("/admin/.hidden").statusCode()).isEqualTo(404);
        assertThat(gw.send(gw.request("/admin/").POST(HttpRequest.BodyPublishers.ofString("x")).build())
                .statusCode()).isEqualTo(405);
    }
}
