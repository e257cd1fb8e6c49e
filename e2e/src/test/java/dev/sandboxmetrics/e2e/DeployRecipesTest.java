package dev.sandboxmetrics.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The deployment recipes under deploy/: every file parses, the tools that can check them on this machine
 * accept them (promtool, systemd-analyze), and the files agree with each other where they must — above all
 * the --metric-server string, which runsc requires to be identical in the runtime's configuration and in
 * the metric server's command line. Kubernetes, Docker and containerd do not run here: what they would do
 * with these files is not tested.
 */
class DeployRecipesTest {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
  private static final YAMLMapper YAML = new YAMLMapper();

  private final Path deploy = RepoRoot.path().resolve("deploy");

  @Test
  void everyJsonAndYamlFileParses() throws IOException {
    List<Path> files = filesEndingWith(".json", ".yaml", ".yml");

    for (Path file : files) {
      List<JsonNode> documents = parse(file);
      assertThat(documents).as("documents in %s", file).isNotEmpty()
          .allSatisfy(d -> assertThat(d.isObject()).as("a document of %s is a mapping", file).isTrue());
    }
    assertThat(files).extracting(f -> deploy.relativize(f).toString()).contains(
        "docker/daemon.json", "kubernetes/sandbox-metrics.yaml", "prometheus/tcp.yml",
        "prometheus/filtered.yml", "prometheus/kubernetes.yml");
  }

  @Test
  void sandboxesRegisterForTheAddressTheServerListensOn() throws IOException {
    Map<String, String> unit = systemdEnvironment();
    JsonNode daemonJson = JSON.readTree(deploy.resolve("docker/daemon.json").toFile());
    List<String> dockerArgs = new ArrayList<>();
    daemonJson.path("runtimes").path("runsc").path("runtimeArgs").forEach(a -> dockerArgs.add(a.asText()));
    String kubernetesAddress = flag(daemonSetContainer("metric-server").path("args"), "--metric-server");

    assertThat(dockerArgs).as("Docker's runsc runtimeArgs").contains("--metric-server=" + unit.get("METRIC_SERVER"));
    assertThat(runscTomlMetricServer()).as("containerd's runsc.toml").isEqualTo(kubernetesAddress);
  }

  @Test
  void prometheusOnTheHostScrapesTheSystemdServicesAddress() throws IOException {
    String address = systemdEnvironment().get("METRIC_SERVER");

    for (String config : List.of("prometheus/tcp.yml", "prometheus/filtered.yml")) {
      for (JsonNode job : parse(deploy.resolve(config)).get(0).path("scrape_configs")) {
        assertThat(job.path("static_configs").path(0).path("targets").path(0).asText())
            .as("target of job %s in %s", job.path("job_name").asText(), config).isEqualTo(address);
      }
    }
  }

  @Test
  void daemonSetMountsTheRuntimeRootAndSharesTheSocketWithTheSidecar() throws IOException {
    JsonNode pod = daemonSet().path("spec").path("template").path("spec");
    JsonNode server = daemonSetContainer("metric-server");
    JsonNode socat = daemonSetContainer("socat");
    String root = flag(server.path("args"), "--root");
    String socket = flag(server.path("args"), "--metric-server");

    assertThat(pod.path("hostPID").asBoolean()).as("hostPID, for runsc's kill(pid, 0) liveness check").isTrue();
    assertThat(hostPathMountedAt(pod, server, root)).as("the runtime root, at its host path").isEqualTo(root);
    String socketDir = Path.of(socket).getParent().toString();
    assertThat(hostPathMountedAt(pod, server, socketDir)).isEqualTo(socketDir);
    assertThat(hostPathMountedAt(pod, socat, socketDir)).isEqualTo(socketDir);
    assertThat(socat.path("args").toString()).contains("UNIX-CONNECT:" + socket);
    for (JsonNode container : List.of(server, socat)) {
      for (String kind : List.of("requests", "limits")) {
        for (String resource : List.of("cpu", "memory")) {
          assertThat(container.path("resources").path(kind).path(resource).asText())
              .as("%s %s of container %s", resource, kind, container.path("name").asText()).isNotBlank();
        }
      }
    }
  }

  @Test
  void kubernetesScrapeConfigKeepsTheSidecarsPort() throws IOException {
    JsonNode socatPort = daemonSetContainer("socat").path("ports").path(0);
    JsonNode job = parse(deploy.resolve("prometheus/kubernetes.yml")).get(0).path("scrape_configs").path(0);

    assertThat(job.path("kubernetes_sd_configs").path(0).path("role").asText()).isEqualTo("pod");
    assertThat(job.path("relabel_configs").path(0).path("source_labels").path(0).asText())
        .isEqualTo("__meta_kubernetes_pod_container_port_name");
    assertThat(job.path("relabel_configs").path(0).path("regex").asText()).isEqualTo(socatPort.path("name").asText());
    assertThat(job.path("relabel_configs").path(0).path("action").asText()).isEqualTo("keep");
  }

  @Test
  void promtoolAcceptsThePrometheusConfigs(@TempDir Path tmp) throws IOException {
    Path promtool = RequiredProgram.require("promtool", "prometheus");

    for (Path config : filesEndingWith(".yml")) {
      if (!config.startsWith(deploy.resolve("prometheus"))) {
        continue;
      }
      Command.Result check = Command.run(List.of(promtool.toString(), "check", "config", config.toString()), null, 60);
      String said = check.stdoutText() + check.stderr();
      if (check.exitCode() != 0 && said.contains("field kubernetes_sd_configs not found")) {
        // Debian builds Prometheus without Kubernetes discovery. Check everything else in the file: the
        // same configuration with the discovery replaced by a static target.
        System.out.println("DeployRecipesTest: this promtool has no Kubernetes discovery; checking "
            + config + " with a static target in its place");
        Path substitute = tmp.resolve(config.getFileName());
        YAML.writeValue(substitute.toFile(), withStaticTargetsForKubernetesDiscovery(parse(config).get(0)));
        check = Command.run(List.of(promtool.toString(), "check", "config", substitute.toString()), null, 60);
        said = check.stdoutText() + check.stderr();
      }
      assertThat(check.exitCode()).as("promtool check config %s:\n%s", config, said).isZero();
    }
  }

  private static JsonNode withStaticTargetsForKubernetesDiscovery(JsonNode config) {
    ObjectNode copy = config.deepCopy();
    for (JsonNode job : copy.path("scrape_configs")) {
      if (job.has("kubernetes_sd_configs")) {
        ((ObjectNode) job).remove("kubernetes_sd_configs");
        ArrayNode staticConfigs = ((ObjectNode) job).putArray("static_configs");
        staticConfigs.addObject().putArray("targets").add("placeholder.invalid:1337");
      }
    }
    return copy;
  }

  @Test
  void systemdUnitIsWellFormed() throws IOException {
    Path unit = deploy.resolve("systemd/sandbox-metrics.service");
    Map<String, List<String>> keysBySection = new LinkedHashMap<>();
    String section = null;
    for (String line : continuedLines(unit)) {
      String trimmed = line.trim();
      if (trimmed.isEmpty() || trimmed.startsWith("#") || trimmed.startsWith(";")) {
        continue;
      }
      if (trimmed.startsWith("[")) {
        assertThat(trimmed).as("section header").matches("\\[[A-Za-z]+\\]");
        section = trimmed.substring(1, trimmed.length() - 1);
        keysBySection.put(section, new ArrayList<>());
        continue;
      }
      assertThat(section).as("a setting before any section: %s", line).isNotNull();
      assertThat(trimmed).as("a setting is Key=Value").matches("[A-Za-z][A-Za-z0-9]*=.*");
      keysBySection.get(section).add(trimmed.substring(0, trimmed.indexOf('=')));
    }

    assertThat(keysBySection).containsOnlyKeys("Unit", "Service", "Install");
    assertThat(keysBySection.get("Service")).contains("ExecStart", "ProtectSystem", "CapabilityBoundingSet",
        "NoNewPrivileges", "RuntimeDirectory");
    assertThat(keysBySection.get("Service")).as("the JIT needs writable executable memory")
        .doesNotContain("MemoryDenyWriteExecute");
    assertThat(keysBySection.get("Install")).contains("WantedBy");
  }

  @Test
  void systemdAnalyzeVerifiesTheUnitAndRatesItsExposureAtMost3() {
    // systemdUnitIsWellFormed checks the syntax by hand; this adds systemd's own view. ./run-tests installs
    // systemd-analyze (Debian package systemd) like the other programs: missing, it is a failure.
    Path systemdAnalyze = RequiredProgram.require("systemd-analyze", "systemd");
    Path unit = deploy.resolve("systemd/sandbox-metrics.service");

    Command.Result verify = Command.run(List.of(systemdAnalyze.toString(), "verify", unit.toString()), null, 60);

    String said = verify.stdoutText() + verify.stderr();
    assertThat(verify.exitCode()).as("systemd-analyze verify: %s", said).isZero();
    // verify exits 0 even for unknown keys and bad values; it only warns about them.
    assertThat(said.lines().filter(l -> l.contains("sandbox-metrics.service"))).as("remarks on the unit").isEmpty();

    Command.Result security = Command.run(
        List.of(systemdAnalyze.toString(), "security", "--offline=true", unit.toString()), null, 60);
    String rated = security.stdoutText() + security.stderr();
    Matcher exposure = Pattern.compile("Overall exposure level for sandbox-metrics.service: ([0-9.]+)")
        .matcher(rated);
    assertThat(exposure.find()).as("an exposure level in systemd-analyze security's output: %s", rated).isTrue();
    assertThat(Double.parseDouble(exposure.group(1))).as("systemd's exposure score (0 best, 10 worst)")
        .isLessThanOrEqualTo(3.0);
  }

  /**
   * The metric server runs with the launcher's JVM options wherever it is deployed: the systemd unit word
   * for word, the container image too (less -Xshare:auto, the JVM's default, which the launcher names only
   * because its start-up cache replaces it).
   */
  @Test
  void deployedJvmOptionsAreTheLaunchers() throws IOException {
    Command.Result printed = Command.run(
        List.of("env", "SANDBOX_METRICS_PRINT_COMMAND=1", RepoRoot.path().resolve("sandbox-metrics").toString(),
            "--metric-server=localhost:1337", "metric-server"), null, 60);
    assertThat(printed.exitCode()).as(printed.toString()).isZero();
    List<String> command = List.of(printed.stdoutText().split("\n"));
    List<String> launcher = command.subList(1, command.indexOf("-jar"));
    assertThat(launcher).as("the launcher's metric-server options").contains("-XX:+UseSerialGC").hasSizeGreaterThan(5);

    String unitOptions = systemdEnvironment().get("JAVA_OPTS");
    assertThat(unitOptions).as("the unit's JAVA_OPTS").isNotNull();
    assertThat(List.of(unitOptions.trim().split("\\s+"))).as("the systemd unit's JVM options").isEqualTo(launcher);

    Matcher entrypoint = Pattern.compile("(?m)^ENTRYPOINT (\\[.*\\])$")
        .matcher(Files.readString(deploy.resolve("container/Dockerfile")));
    assertThat(entrypoint.find()).as("an ENTRYPOINT line").isTrue();
    List<String> image = new ArrayList<>();
    JSON.readTree(entrypoint.group(1)).forEach(a -> image.add(a.asText()));
    assertThat(image.subList(1, image.indexOf("-jar"))).as("the container image's JVM options")
        .isEqualTo(launcher.stream().filter(o -> !o.equals("-Xshare:auto")).toList());
  }

  @Test
  void containerImageRunsTheJarTheBuildProduces() throws IOException {
    String dockerfile = Files.readString(deploy.resolve("container/Dockerfile"));
    Matcher copy = Pattern.compile("(?m)^COPY (\\S+) (\\S+)$").matcher(dockerfile);

    assertThat(copy.find()).as("a COPY line").isTrue();
    assertThat(copy.group(1)).isEqualTo("cli/target/sandbox-metrics.jar");
    assertThat(dockerfile).contains("\"-jar\", \"" + copy.group(2) + "\"");
  }

  // ---- helpers ----

  private List<Path> filesEndingWith(String... suffixes) throws IOException {
    try (Stream<Path> paths = Files.walk(deploy)) {
      return paths.filter(Files::isRegularFile)
          .filter(p -> Stream.of(suffixes).anyMatch(s -> p.getFileName().toString().endsWith(s)))
          .sorted().toList();
    }
  }

  /** All documents of a JSON file, or of a YAML file that may hold several (Kubernetes manifests do). */
  private static List<JsonNode> parse(Path file) throws IOException {
    if (file.toString().endsWith(".json")) {
      return List.of(JSON.readTree(file.toFile()));
    }
    List<JsonNode> documents = new ArrayList<>();
    try (JsonParser parser = new YAMLFactory().createParser(file.toFile());
        MappingIterator<JsonNode> values = YAML.readValues(parser, JsonNode.class)) {
      while (values.hasNext()) {
        JsonNode document = values.next();
        if (document != null && !document.isNull() && !document.isMissingNode()) {
          documents.add(document);
        }
      }
    }
    return documents;
  }

  private JsonNode daemonSet() throws IOException {
    return parse(deploy.resolve("kubernetes/sandbox-metrics.yaml")).stream()
        .filter(d -> d.path("kind").asText().equals("DaemonSet")).findFirst()
        .orElseThrow(() -> new AssertionError("no DaemonSet in kubernetes/sandbox-metrics.yaml"));
  }

  private JsonNode daemonSetContainer(String name) throws IOException {
    for (JsonNode container : daemonSet().path("spec").path("template").path("spec").path("containers")) {
      if (container.path("name").asText().equals(name)) {
        return container;
      }
    }
    throw new AssertionError("no container " + name + " in the DaemonSet");
  }

  /** The host path of the hostPath volume that {@code container} mounts at {@code mountPath}. */
  private static String hostPathMountedAt(JsonNode pod, JsonNode container, String mountPath) {
    for (JsonNode mount : container.path("volumeMounts")) {
      if (mount.path("mountPath").asText().equals(mountPath)) {
        for (JsonNode volume : pod.path("volumes")) {
          if (volume.path("name").asText().equals(mount.path("name").asText())) {
            return volume.path("hostPath").path("path").asText(null);
          }
        }
      }
    }
    return null;
  }

  /** The value of {@code --name=value} among a container's args. */
  private static String flag(JsonNode args, String name) {
    for (JsonNode arg : args) {
      if (arg.asText().startsWith(name + "=")) {
        return arg.asText().substring(name.length() + 1);
      }
    }
    throw new AssertionError("no " + name + "= in " + args);
  }

  /** The systemd unit's Environment= assignments. */
  private Map<String, String> systemdEnvironment() throws IOException {
    Map<String, String> environment = new LinkedHashMap<>();
    Pattern assignment = Pattern.compile("^Environment=\"?([A-Z_]+)=(.*?)\"?$");
    for (String line : continuedLines(deploy.resolve("systemd/sandbox-metrics.service"))) {
      Matcher m = assignment.matcher(line.trim());
      if (m.matches()) {
        environment.put(m.group(1), m.group(2));
      }
    }
    assertThat(environment).containsKeys("RUNTIME_ROOT", "METRIC_SERVER");
    return environment;
  }

  /** The unit's lines with systemd's backslash continuations joined. */
  private static List<String> continuedLines(Path unit) throws IOException {
    List<String> lines = new ArrayList<>();
    StringBuilder pending = new StringBuilder();
    for (String line : Files.readAllLines(unit)) {
      if (line.endsWith("\\") && !line.trim().startsWith("#")) {
        pending.append(line, 0, line.length() - 1).append(' ');
      } else {
        lines.add(pending.append(line).toString());
        pending.setLength(0);
      }
    }
    return lines;
  }

  /** metric-server under [runsc_config] in containerd's runsc.toml. */
  private String runscTomlMetricServer() throws IOException {
    String section = "";
    Pattern keyValue = Pattern.compile("^\\s*([A-Za-z0-9_-]+)\\s*=\\s*\"([^\"]*)\"\\s*$");
    for (String line : Files.readAllLines(deploy.resolve("containerd/runsc.toml"))) {
      String trimmed = line.trim();
      if (trimmed.startsWith("[")) {
        section = trimmed;
      }
      Matcher m = keyValue.matcher(line);
      if (section.equals("[runsc_config]") && m.matches() && m.group(1).equals("metric-server")) {
        return m.group(2);
      }
    }
    throw new AssertionError("no metric-server under [runsc_config] in containerd/runsc.toml");
  }
}
