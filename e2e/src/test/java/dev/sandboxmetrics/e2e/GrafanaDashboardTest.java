package dev.sandboxmetrics.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * deploy/grafana/gvisor-pods.json: valid JSON (strictly: no duplicate keys), a dashboard with panels, and
 * every PromQL query in it accepted by promtool. promtool has no command that parses a bare query offline,
 * so each query, with Grafana's variables replaced by values, becomes a recording rule of a rule file that
 * {@code promtool check rules} checks.
 */
class GrafanaDashboardTest {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  private final Path dashboard = RepoRoot.path().resolve("deploy/grafana/gvisor-pods.json");

  /** The queries of the panels and of the template variables, as written. */
  private List<String> queries(JsonNode d) {
    List<String> out = new ArrayList<>();
    for (JsonNode panel : d.path("panels")) {
      for (JsonNode target : panel.path("targets")) {
        out.add(target.path("expr").asText());
      }
    }
    for (JsonNode variable : d.path("templating").path("list")) {
      String q = variable.path("query").path("query").asText("");
      if (q.startsWith("label_values(")) {
        // label_values(SELECTOR, LABEL) is Grafana's; its selector is PromQL.
        out.add(q.substring("label_values(".length(), q.lastIndexOf(',')));
      }
    }
    return out;
  }

  @Test
  void isADashboardWithPerPodAndPerContainerCpuAndMemory() throws IOException {
    JsonNode d = JSON.readTree(dashboard.toFile());
    assertThat(d.path("title").asText()).contains("gVisor");
    assertThat(d.path("panels")).hasSizeGreaterThanOrEqualTo(4);
    List<String> queries = queries(d);
    assertThat(queries).allSatisfy(q -> assertThat(q).isNotBlank());
    assertThat(queries).anyMatch(q -> q.contains("container_cpu_usage_seconds_total") && q.contains("by (namespace, pod)"))
        .anyMatch(q -> q.contains("container_cpu_usage_seconds_total") && q.contains("pod, container)"))
        .anyMatch(q -> q.contains("container_memory_working_set_bytes") && q.contains("by (namespace, pod)"))
        .anyMatch(q -> q.contains("container_memory_working_set_bytes") && q.contains("pod, container)"))
        .anyMatch(q -> q.contains("runsc_sandbox_memory_overhead_bytes"));
    for (JsonNode panel : d.path("panels")) {
      assertThat(panel.path("gridPos").path("w").asInt()).as("panel %s", panel.path("title")).isPositive();
    }
  }

  @Test
  void promtoolAcceptsEveryQuery(@TempDir Path tmp) throws IOException {
    Path promtool = RequiredProgram.require("promtool", "prometheus");
    List<String> queries = queries(JSON.readTree(dashboard.toFile()));
    ObjectNode rules = JSON.createObjectNode();
    ArrayNode group = rules.putArray("groups").addObject().put("name", "grafana-dashboard").putArray("rules");
    for (int i = 0; i < queries.size(); i++) {
      String expr = queries.get(i)
          .replace("$__rate_interval", "5m")
          .replace("$namespace", ".*")
          .replace("$pod", ".*");
      assertThat(expr).as("query %d still has a variable", i).doesNotContain("$");
      group.addObject().put("record", "dashboard:query_" + i).put("expr", expr);
    }
    Path file = tmp.resolve("dashboard-rules.yml");
    new YAMLMapper().writeValue(file.toFile(), rules);
    Command.Result check = Command.run(List.of(promtool.toString(), "check", "rules", file.toString()), null, 60);
    assertThat(check.exitCode()).as("promtool check rules:\n%s%s", check.stdoutText(), check.stderr()).isZero();
    assertThat(check.stdoutText()).contains("SUCCESS: " + queries.size() + " rules found");
  }
}
