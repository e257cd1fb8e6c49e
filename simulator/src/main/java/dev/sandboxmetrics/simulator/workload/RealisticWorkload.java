package dev.sandboxmetrics.simulator.workload;

import dev.sandboxmetrics.snapshot.Bucket;
import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.Histogram;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Metric;
import dev.sandboxmetrics.snapshot.MetricField;
import dev.sandboxmetrics.snapshot.MetricMetadata;
import dev.sandboxmetrics.snapshot.MetricNameFilter;
import dev.sandboxmetrics.snapshot.MetricType;
import dev.sandboxmetrics.snapshot.Registration;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.Value;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The {@code realistic} profile: a sandbox with gVisor's own metric names and help texts (file system,
 * gofer, unimplemented syscalls, weirdness, netstack), a few memory gauges and two distributions, whose
 * values move on every export the way a busy sandbox's would. Some counters never leave zero and one
 * distribution field never gets a sample, so that snapshots leave them out as runsc does.
 *
 * <p>Names marked "synthetic" below do not exist in gVisor (it exports no memory gauges or distributions
 * by default); they follow its conventions.
 */
public final class RealisticWorkload extends Workload {
  private static final int UNITS_NS = MetricMetadata.UNITS_NANOSECONDS;

  /** gVisor's init stages, in its order. */
  private static final List<String> STAGES =
      List.of("restore_config", "exec_config", "restore", "create_process", "task_start");

  /** A handful of syscall numbers gVisor reports as unimplemented on amd64. */
  private static final List<String> UNIMPLEMENTED_SYSNOS =
      List.of("134", "135", "153", "154", "156", "167", "168", "169", "174", "175", "176", "177",
          "178", "180", "181", "182", "183", "184", "185", "212", "214", "215", "236", "251", "252");

  private final SplittableRandom random;
  private final List<Series> series = new ArrayList<>();
  private final Registration registration;

  /** A workload whose evolution is reproducible for a given seed (the simulator seeds it by sandbox ID). */
  public RealisticWorkload(long seed) {
    this.random = new SplittableRandom(seed);

    counter("/fs/opens", "Number of file opens.", 0, false, none(), 0, 15);
    counter("/fs/reads", "Number of file reads.", 0, false, none(), 0, 120);
    counter("/fs/read_wait", "Time waiting on file reads, in nanoseconds.", UNITS_NS, false, none(),
        0, 2_400_000);
    counter("/gofer/opens_9p",
        "Number of times a file was opened from a gofer and did not have a host file descriptor.",
        0, false, none(), 0, 0);
    counter("/gofer/opens_host",
        "Number of times a file was opened from a gofer and did have a host file descriptor.",
        0, false, none(), 0, 10);
    counter("/gofer/reads_9p", "Number of 9P file reads from a gofer.", 0, false, none(), 0, 0);
    counter("/gofer/read_wait_9p", "Time waiting on 9P file reads from a gofer, in nanoseconds.",
        UNITS_NS, false, none(), 0, 0);
    counter("/gofer/reads_host", "Number of host file reads from a gofer.", 0, false, none(), 0, 40);
    counter("/gofer/read_wait_host", "Time waiting on host file reads from a gofer, in nanoseconds.",
        UNITS_NS, false, none(), 0, 900_000);
    // Only two syscalls are ever tried, rarely; every other allowed value stays zero and is left out.
    counter("/unimplemented_syscalls",
        "Number of times the application tried to call an unimplemented syscall, broken down by syscall number",
        0, true, List.of(new MetricField("sysno", UNIMPLEMENTED_SYSNOS)), 0, 0)
        .rate(UNIMPLEMENTED_SYSNOS.indexOf("135"), 0, 2)
        .rate(UNIMPLEMENTED_SYSNOS.indexOf("212"), 0, 1);
    counter("/weirdness",
        "Increment for weird occurrences of problems such as time fallback, partial result, vsyscalls invoked in the sandbox, watchdog startup timeouts and stuck tasks.",
        0, true, List.of(new MetricField("weirdness_type", List.of("time_fallback", "partial_result",
            "vsyscall_count", "watchdog_stuck_startup", "watchdog_stuck_tasks"))), 0, 0)
        .rate(2, 0, 1);
    counter("/netstack/dropped_packets", "Number of packets dropped at the transport layer.",
        0, false, none(), 0, 0);
    counter("/netstack/nic/tx/packets", "Number of packets transmitted.", 0, false, none(), 0, 300);
    counter("/netstack/nic/tx/bytes", "Number of bytes transmitted.", 0, false, none(), 0, 400_000);
    counter("/netstack/nic/rx/packets", "Number of packets received.", 0, false, none(), 0, 300);
    counter("/netstack/nic/rx/bytes", "Number of bytes received.", 0, false, none(), 0, 250_000);
    counter("/netstack/tcp/active_connection_openings",
        "Number of connections opened successfully via Connect.", 0, false, none(), 0, 4);
    counter("/netstack/tcp/passive_connection_openings",
        "Number of connections opened successfully via Listen.", 0, false, none(), 0, 6);
    counter("/netstack/tcp/established_resets",
        "Number of times TCP connections have made a direct transition to the CLOSED state from either the ESTABLISHED state or the CLOSE-WAIT state",
        0, false, none(), 0, 1);
    counter("/netstack/tcp/retransmits", "Number of TCP segments retransmitted.", 0, false, none(), 0, 3);
    counter("/netstack/tcp/segments_sent", "Number of TCP segments sent.", 0, false, none(), 0, 250);
    counter("/netstack/tcp/valid_segments_received", "Number of TCP segments received that the transport layer successfully parsed.",
        0, false, none(), 0, 250);
    counter("/netstack/udp/packets_received", "Number of UDP datagrams received via HandlePacket.",
        0, false, none(), 0, 20);
    counter("/netstack/udp/packets_sent", "Number of UDP datagrams sent.", 0, false, none(), 0, 20);
    counter("/netstack/socket/unknown_set_socket_option",
        "Number of times SetSocketOption was called with an unknown option.", 0, true,
        List.of(new MetricField("level", List.of("SOCKET", "TCP", "ICMPV6", "IP", "IPV6", "PACKET"))),
        0, 0);

    gauge("/netstack/tcp/current_established", "Number of connections in ESTABLISHED state now.",
        none(), 0, 64);
    gauge("/netstack/tcp/current_open", "Number of connections that are in connected state.",
        none(), 0, 96);
    // Synthetic: memory gauges with a field, so that gauges with labels (and zero gauges, which runsc
    // does report) appear.
    gauge("/memory/usage_bytes", "Memory in use by the sandbox, by category, in bytes (synthetic).",
        List.of(new MetricField("category",
            List.of("system", "anonymous", "page_cache", "mapped", "tmpfs", "ramdiskfs"))),
        0, 512L << 20)
        .range(0, 16L << 20, 48L << 20)
        .range(1, 64L << 20, 512L << 20)
        .range(2, 8L << 20, 256L << 20)
        .range(3, 4L << 20, 64L << 20)
        .range(4, 0, 8L << 20)
        .range(5, 0, 0);
    gauge("/memory/total_bytes", "Memory available to the sandbox, in bytes (synthetic).", none(),
        1L << 30, 1L << 30);

    // Synthetic distributions: one timer in nanoseconds, one by field with a value never sampled.
    distribution("/fs/read_latency", "Latency of file reads, in nanoseconds (synthetic).", UNITS_NS,
        none(), new ExponentialBucketer(16, 1000, 1000, 2), 40_000, 1.0, 3, 40);
    distribution("/fs/read_sizes", "Sizes of file reads, in bytes (synthetic).", 0,
        List.of(new MetricField("fs", List.of("gofer", "tmpfs", "proc"))),
        new ExponentialBucketer(12, 0, 1, 4), 4096, 1.5, 0, 30)
        .quiet(2);

    List<MetricMetadata> metadata = new ArrayList<>();
    for (Series s : series) {
      metadata.add(s.metadata);
    }
    registration = new Registration(metadata, STAGES);

    // The sandbox has been busy for a while before anyone asks.
    for (int i = 0; i < 20; i++) {
      for (Series s : series) {
        s.advance();
      }
    }
  }

  @Override
  public Registration registration() {
    return registration;
  }

  @Override
  public void advance() {
    for (Series s : series) {
      s.advance();
    }
  }

  @Override
  public Snapshot snapshot(Instant when, MetricNameFilter filter) {
    List<DataPoint> data = new ArrayList<>();
    for (Series s : series) {
      if (filter.matches(s.metric.name())) {
        s.addTo(data);
      }
    }
    return new Snapshot(when, data);
  }

  @Override
  public String decreaseCounter() {
    for (Series s : series) {
      if (s instanceof CounterSeries && ((CounterSeries) s).decrease()) {
        return s.metric.name();
      }
    }
    return null;
  }

  private static List<MetricField> none() {
    return Collections.emptyList();
  }

  private static String prometheusName(String name) {
    return name.substring(1).replace('/', '_');
  }

  private CounterSeries counter(
      String name, String help, int units, boolean sync, List<MetricField> fields, long min, long max) {
    MetricMetadata m =
        new MetricMetadata(name, prometheusName(name), help, true, sync, MetricMetadata.TYPE_UINT64,
            units, fields, null);
    CounterSeries s = new CounterSeries(m, min, max);
    series.add(s);
    return s;
  }

  private GaugeSeries gauge(String name, String help, List<MetricField> fields, long min, long max) {
    MetricMetadata m =
        new MetricMetadata(name, prometheusName(name), help, false, false, MetricMetadata.TYPE_UINT64,
            0, fields, null);
    GaugeSeries s = new GaugeSeries(m, min, max);
    series.add(s);
    return s;
  }

  private DistributionSeries distribution(
      String name,
      String help,
      int units,
      List<MetricField> fields,
      ExponentialBucketer bucketer,
      double median,
      double sigma,
      int minSamples,
      int maxSamples) {
    MetricMetadata m =
        new MetricMetadata(name, prometheusName(name), help, false, false,
            MetricMetadata.TYPE_DISTRIBUTION, units, fields, bucketer.lowerBounds());
    DistributionSeries s =
        new DistributionSeries(m, bucketer, median, sigma, minSamples, maxSamples);
    series.add(s);
    return s;
  }

  /** One registered metric and its value for every combination of its field values. */
  private abstract class Series {
    final MetricMetadata metadata;
    final Metric metric;
    final Labels[] combinations;

    Series(MetricMetadata metadata) {
      this.metadata = metadata;
      this.metric = new Metric(metadata.prometheusName(), metadata.prometheusType(), metadata.description());
      this.combinations = combinations(metadata.fields());
    }

    abstract void advance();

    abstract void addTo(List<DataPoint> data);
  }

  private final class CounterSeries extends Series {
    final long[] values;
    final long[] minStep;
    final long[] maxStep;

    CounterSeries(MetricMetadata m, long min, long max) {
      super(m);
      values = new long[combinations.length];
      minStep = new long[combinations.length];
      maxStep = new long[combinations.length];
      // With fields, only the combinations given a rate move; without, the one value moves.
      if (m.fields().isEmpty()) {
        minStep[0] = min;
        maxStep[0] = max;
      }
    }

    CounterSeries rate(int combination, long min, long max) {
      minStep[combination] = min;
      maxStep[combination] = max;
      return this;
    }

    @Override
    void advance() {
      for (int i = 0; i < values.length; i++) {
        if (maxStep[i] > 0) {
          values[i] += random.nextLong(minStep[i], maxStep[i] + 1);
        }
      }
    }

    boolean decrease() {
      for (int i = 0; i < values.length; i++) {
        if (values[i] > 1) {
          values[i] -= Math.max(1, values[i] / 10);
          return true;
        }
      }
      return false;
    }

    @Override
    void addTo(List<DataPoint> data) {
      for (int i = 0; i < values.length; i++) {
        if (values[i] != 0) {
          data.add(DataPoint.of(metric, combinations[i], Value.ofInt(values[i])));
        }
      }
    }
  }

  private final class GaugeSeries extends Series {
    final long[] values;
    final long[] low;
    final long[] high;

    GaugeSeries(MetricMetadata m, long min, long max) {
      super(m);
      values = new long[combinations.length];
      low = new long[combinations.length];
      high = new long[combinations.length];
      for (int i = 0; i < values.length; i++) {
        range(i, min, max);
      }
    }

    GaugeSeries range(int combination, long min, long max) {
      low[combination] = min;
      high[combination] = max;
      values[combination] = min + (max - min) / 2;
      return this;
    }

    @Override
    void advance() {
      for (int i = 0; i < values.length; i++) {
        long span = high[i] - low[i];
        if (span == 0) {
          continue;
        }
        // A random walk of up to a tenth of the range per step, kept inside the range.
        long step = random.nextLong(-(span / 10) - 1, span / 10 + 2);
        values[i] = Math.max(low[i], Math.min(high[i], values[i] + step));
      }
    }

    @Override
    void addTo(List<DataPoint> data) {
      // runsc reports gauges even when they are zero.
      for (int i = 0; i < values.length; i++) {
        data.add(DataPoint.of(metric, combinations[i], Value.ofInt(values[i])));
      }
    }
  }

  private final class DistributionSeries extends Series {
    final ExponentialBucketer bucketer;
    final double logMedian;
    final double sigma;
    final int minSamples;
    final int maxSamples;
    final boolean[] quiet;
    final long[][] buckets;
    final long[] count;
    final long[] sum;
    final long[] min;
    final long[] max;
    final double[] ssd;

    DistributionSeries(
        MetricMetadata m,
        ExponentialBucketer bucketer,
        double median,
        double sigma,
        int minSamples,
        int maxSamples) {
      super(m);
      this.bucketer = bucketer;
      this.logMedian = Math.log(median);
      this.sigma = sigma;
      this.minSamples = minSamples;
      this.maxSamples = maxSamples;
      int n = combinations.length;
      quiet = new boolean[n];
      buckets = new long[n][bucketer.finiteBuckets() + 2];
      count = new long[n];
      sum = new long[n];
      min = new long[n];
      max = new long[n];
      ssd = new double[n];
    }

    /** This field combination never gets a sample, so snapshots never show it. */
    DistributionSeries quiet(int combination) {
      quiet[combination] = true;
      return this;
    }

    @Override
    void advance() {
      for (int c = 0; c < combinations.length; c++) {
        if (quiet[c]) {
          continue;
        }
        int samples = random.nextInt(minSamples, maxSamples + 1);
        for (int i = 0; i < samples; i++) {
          long sample = (long) Math.exp(logMedian + sigma * gaussian());
          add(c, sample);
        }
      }
    }

    /** gVisor's running statistics: Welford's update of the sum of squared deviations. */
    private void add(int c, long sample) {
      buckets[c][bucketer.bucketOf(sample)]++;
      count[c]++;
      sum[c] += sample;
      if (count[c] == 1) {
        min[c] = sample;
        max[c] = sample;
        return;
      }
      double oldMean = (double) (sum[c] - sample) / (count[c] - 1);
      double newMean = (double) sum[c] / count[c];
      ssd[c] += (sample - oldMean) * (sample - newMean);
      min[c] = Math.min(min[c], sample);
      max[c] = Math.max(max[c], sample);
    }

    private double gaussian() {
      // Box-Muller; SplittableRandom has no nextGaussian in Java 17.
      double u = 1.0 - random.nextDouble();
      double v = random.nextDouble();
      return Math.sqrt(-2.0 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    @Override
    void addTo(List<DataPoint> data) {
      int n = bucketer.finiteBuckets();
      for (int c = 0; c < combinations.length; c++) {
        if (count[c] == 0) {
          continue;
        }
        List<Bucket> out = new ArrayList<>(n + 2);
        for (int b = 0; b <= n; b++) {
          out.add(new Bucket(Value.ofInt(bucketer.upperBound(b)), buckets[c][b]));
        }
        out.add(new Bucket(Value.ofFloat(Double.POSITIVE_INFINITY), buckets[c][n + 1]));
        Histogram h =
            new Histogram(
                Value.ofInt(sum[c]), Value.ofInt(min[c]), Value.ofInt(max[c]), Value.ofFloat(ssd[c]), out);
        data.add(DataPoint.of(metric, combinations[c], h));
      }
    }
  }

  /** Every combination of field values, the first field varying slowest. */
  private static Labels[] combinations(List<MetricField> fields) {
    List<Labels> out = new ArrayList<>();
    String[] current = new String[fields.size() * 2];
    collect(fields, 0, current, out);
    return out.toArray(new Labels[0]);
  }

  private static void collect(List<MetricField> fields, int i, String[] current, List<Labels> out) {
    if (i == fields.size()) {
      out.add(fields.isEmpty() ? Labels.EMPTY : Labels.of(current.clone()));
      return;
    }
    for (String v : fields.get(i).allowedValues()) {
      current[2 * i] = fields.get(i).fieldName();
      current[2 * i + 1] = v;
      collect(fields, i + 1, current, out);
    }
  }
}
