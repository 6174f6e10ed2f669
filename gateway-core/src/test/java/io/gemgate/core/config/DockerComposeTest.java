package io.gemgate.core.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.gemgate.core.config.ConfigLoader.Setting;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * docker/compose.yaml, docker/prometheus.yml and docker/Dockerfile against the configuration they feed: a variable
 * misspelt there would be ignored by the gateway (the environment is not checked for unknown names), so every
 * {@code GEMGATE_} name they mention must be one the gateway reads, and each gateway's environment must load.
 */
class DockerComposeTest {
    private static final Path DOCKER = Path.of("../docker");
    /** Read outside {@link ConfigLoader}'s table: the YAML file's name, and the log configuration (Main, log4j2.xml). */
    private static final Set<String> OUTSIDE_THE_TABLE = Set.of("GEMGATE_CONFIG", "GEMGATE_LOG_CONFIG",
            "GEMGATE_LOG_DIR", "GEMGATE_LOG_LEVEL");
    private static final Pattern COMPOSE_VARIABLE = Pattern.compile("\\$\\{([A-Z_]+)[^}]*}");

    @Test
    void everyGemgateVariableMentionedIsOneTheGatewayReads() throws IOException {
        Set<String> known = Stream.of(Setting.values()).map(s -> s.env).collect(Collectors.toCollection(TreeSet::new));
        known.addAll(OUTSIDE_THE_TABLE);
        Set<String> mentioned = new TreeSet<>();
        for (String file : List.of("compose.yaml", "prometheus.yml", "Dockerfile")) {
            Matcher m = Pattern.compile("GEMGATE_[A-Z0-9_]*[A-Z0-9]").matcher(Files.readString(DOCKER.resolve(file)));
            while (m.find()) {
                mentioned.add(m.group());
            }
        }

        assertThat(mentioned).contains("GEMGATE_REDIS_URL", "GEMGATE_TOKEN", "GEMGATE_KEYS_FILE");
        assertThat(known).containsAll(mentioned);
    }

    @Test
    void twoGatewaysShareOneRedisOnDistinctPortsAndTheirEnvironmentLoads() throws IOException {
        Map<String, Map<String, Object>> gateways = gateways(compose());

        assertThat(gateways).hasSizeGreaterThanOrEqualTo(2);
        Set<String> hostPorts = new TreeSet<>();
        for (Map.Entry<String, Map<String, Object>> e : gateways.entrySet()) {
            Map<String, String> env = new HashMap<>();
            environment(e.getValue()).forEach((k, v) -> env.put(k, interpolate(v)));
            GatewayConfig config = ConfigLoader.load(null, env);

            assertThat(config.state().redisUrl()).as(e.getKey()).isEqualTo("redis://redis:6379");
            assertThat(config.keys().file()).as(e.getKey()).isEqualTo(Path.of("/app/keys/keys.txt"));
            assertThat(config.auth().token()).as(e.getKey()).isNotNull();
            List<String> ports = list(e.getValue().get("ports"));
            assertThat(ports).as(e.getKey()).hasSize(1).allMatch(p -> p.endsWith(":8080"));
            hostPorts.add(ports.get(0).substring(0, ports.get(0).lastIndexOf(':')));
        }
        assertThat(hostPorts).hasSameSizeAs(gateways.keySet());
        assertThat(services(compose())).containsKeys("redis", "prometheus");
    }

    @Test
    void prometheusScrapesEveryGatewayAndNothingElse() throws IOException {
        Set<String> gateways = gateways(compose()).keySet().stream().map(name -> name + ":8080")
                .collect(Collectors.toCollection(TreeSet::new));
        Map<String, Object> prometheus = new Yaml().load(Files.readString(DOCKER.resolve("prometheus.yml")));

        Set<String> targets = new TreeSet<>();
        for (Object job : list(prometheus.get("scrape_configs"))) {
            Map<String, Object> j = map(job);
            assertThat(j.getOrDefault("metrics_path", "/metrics")).isEqualTo("/metrics");
            for (Object sc : list(j.get("static_configs"))) {
                targets.addAll(list(map(sc).get("targets")));
            }
        }
        assertThat(targets).isEqualTo(gateways);
    }

    @Test
    void prometheusLoadsGemgatesRulesAndGrafanaGemgatesDashboard() throws IOException {
        Map<String, Object> prometheus = new Yaml().load(Files.readString(DOCKER.resolve("prometheus.yml")));
        assertThat(list(prometheus.get("rule_files"))).containsExactly("/etc/prometheus/gemgate-rules.yml");
        assertThat(list(map(services(compose()).get("prometheus")).get("volumes")))
                .contains("../ops/prometheus/gemgate-rules.yml:/etc/prometheus/gemgate-rules.yml:ro");
        assertThat(DOCKER.resolve("../ops/prometheus/gemgate-rules.yml")).isRegularFile();

        List<Object> grafana = list(map(services(compose()).get("grafana")).get("volumes"));
        assertThat(grafana).contains(
                "./grafana/datasources:/etc/grafana/provisioning/datasources:ro",
                "./grafana/dashboards:/etc/grafana/provisioning/dashboards:ro",
                "../ops/grafana/gemgate-dashboard.json:/var/lib/grafana/dashboards/gemgate/gemgate-dashboard.json:ro");
        Map<String, Object> provider = map(list(map(new Yaml().load(Files.readString(
                DOCKER.resolve("grafana/dashboards/gemgate.yml")))).get("providers")).get(0));
        assertThat(map(provider.get("options")).get("path")).isEqualTo("/var/lib/grafana/dashboards/gemgate");
        Map<String, Object> source = map(list(map(new Yaml().load(Files.readString(
                DOCKER.resolve("grafana/datasources/prometheus.yml")))).get("datasources")).get(0));
        assertThat(source).containsEntry("type", "prometheus").containsEntry("url", "http://prometheus:9090");
        assertThat(DOCKER.resolve("../ops/grafana/gemgate-dashboard.json")).isRegularFile();
    }

    private static Map<String, Object> compose() throws IOException {
        return new Yaml().load(Files.readString(DOCKER.resolve("compose.yaml")));
    }

    private static Map<String, Object> services(Map<String, Object> compose) {
        return map(compose.get("services"));
    }

    /** The services that run the image built from docker/Dockerfile, by name. */
    private static Map<String, Map<String, Object>> gateways(Map<String, Object> compose) {
        Map<String, Map<String, Object>> out = new LinkedHashMap<>();
        services(compose).forEach((name, s) -> {
            Object build = map(s).get("build");
            if (build != null && "docker/Dockerfile".equals(map(build).get("dockerfile"))) {
                out.put(name, map(s));
            }
        });
        return out;
    }

    private static Map<String, String> environment(Map<String, Object> service) {
        Map<String, String> env = new LinkedHashMap<>();
        map(service.get("environment")).forEach((k, v) -> env.put(k, v == null ? "" : v.toString()));
        return env;
    }

    /** Compose's {@code ${NAME:?message}} and {@code ${NAME:-default}}, as a user who set every variable would see. */
    private static String interpolate(String value) {
        return COMPOSE_VARIABLE.matcher(value).replaceAll(m -> "value-of-" + m.group(1).toLowerCase());
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        assertThat(o).isInstanceOf(Map.class);
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    private static <T> List<T> list(Object o) {
        assertThat(o).isInstanceOf(List.class);
        return new ArrayList<>((List<T>) o);
    }
}
