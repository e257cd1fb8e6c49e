package dev.sandboxmetrics.snapshot.text;

import dev.sandboxmetrics.snapshot.Bucket;
import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.Histogram;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Metric;
import dev.sandboxmetrics.snapshot.MetricType;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.Value;
import dev.sandboxmetrics.snapshot.golang.RunscTime;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;

/**
 * The Prometheus text format 0.0.4 as runsc writes it (docs/runsc-protocol.md section 8): the body of
 * metric-server's {@code /metrics} and the output of {@code export-metrics}. Sample lines, blank lines and
 * their order are byte for byte gVisor's ({@code pkg/prometheus}), with gVisor's rendering bugs fixed:
 * escaping follows the Prometheus format, every 64-bit integer prints correctly, HELP/TYPE are written
 * once per full (prefixed) name, and a data point that cannot be rendered (colliding or invalid label
 * names, no value, a histogram type without a histogram, ...) is left out whole and named in the
 * {@link WriteReport} instead of leaving half a line.
 *
 * <p>Output is deterministic: metric names sorted after prefixing; for one name, snapshots in the order
 * given; within a snapshot, data points in the order the sandbox sent them.
 *
 * <p>This is the hot path of every scrape. Each call renders into one byte buffer, handed to the stream in
 * chunks of about 32 KB, so the response never exists as a whole, let alone as a String. Data points are
 * grouped by name once per call (gVisor scans every snapshot once per name), and each snapshot's added
 * labels are escaped once per {@link Labels} instance ({@code AddedLabels}, a small table of immutable
 * entries shared by all calls). Beyond that table the writer holds no state between calls: one instance
 * may serve concurrent scrapes.
 *
 * <p>{@link #slice} lays the same output out in slices for the server, which renders (and compresses) them
 * on several threads: the grouping is done once, and each slice then renders its range of names with
 * caches of its own. Because the output goes name by name across all snapshots, a slice is a range of the
 * output, not a set of sandboxes.
 */
public final class PrometheusTextWriter implements ExpositionWriter {
  public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private static final int FLUSH_AT = 32 * 1024;

  @Override
  public String contentType() {
    return CONTENT_TYPE;
  }

  /**
   * Renders the exports. Writes nothing at all when {@code exports} is empty (as gVisor does). Does not
   * flush or close {@code out}.
   */
  @Override
  public WriteReport write(OutputStream out, String commentHeader, List<SnapshotExport> exports)
      throws IOException {
    Objects.requireNonNull(out, "out");
    Objects.requireNonNull(exports, "exports");
    if (exports.isEmpty()) {
      return new WriteReport(0, List.of());
    }
    return new Rendering(new Layout(commentHeader, exports, 0), out).run(0);
  }

  /**
   * Lays the exposition out in slices of about {@code sliceBytes} bytes each (a rough estimate; 0 or less
   * for a single slice), for rendering on several threads: the {@code /metrics} endpoint renders and
   * compresses slices in parallel and sends them in order. Slices are ranges of the output, not of the
   * sandboxes: the output goes metric name by metric name across all snapshots, so a slice is a run of
   * names, and a name with many data points is cut between data points. Slice 0 holds the comment header,
   * the last slice the end line; the bytes of all slices in order are exactly what {@link #write} writes,
   * and their reports' dropped data points, in order, are its report's.
   */
  @Override
  public SlicedExposition slice(String commentHeader, List<SnapshotExport> exports, int sliceBytes) {
    Objects.requireNonNull(exports, "exports");
    Layout layout = new Layout(commentHeader, exports, sliceBytes);
    return layout;
  }

  private static final int SIMPLE = 0x40;
  private static final MetricType[] TYPES = MetricType.values();

  /**
   * An export's added labels as they are written, worked out once per {@link Labels} instance rather than
   * per scrape: the server passes each sandbox's same instance on every scrape, and escaping them (a char
   * loop over Strings) was a visible part of each scrape on C1. Immutable; kept in a small table shared by
   * all calls and threads, published by racy array stores, which the final fields make safe. A table slot
   * holds the last instance that hashed there, so a server with more sandboxes than slots only works some
   * out again.
   */
  private static final class AddedLabels {
    private static final AddedLabels[] TABLE = new AddedLabels[4096];

    final Labels labels;
    final String[] names;
    /** {@link #names} as a list, the key under which a call shares one instance per distinct names. */
    final List<String> nameList;
    final byte[][] pairs;
    final byte[] joined;
    final int[] at;
    final byte[] block;
    /** Why no line with these added labels can be written (an invalid name), or null. */
    final String trouble;
    /** The labels as Go's {@code %v} of a map, for the comment header. */
    final byte[] goMap;

    static AddedLabels of(Labels labels) {
      int slot = System.identityHashCode(labels) & (TABLE.length - 1);
      AddedLabels known = TABLE[slot];
      if (known != null && known.labels == labels) {
        return known;
      }
      AddedLabels made = new AddedLabels(labels);
      TABLE[slot] = made;
      return made;
    }

    private AddedLabels(Labels extra) {
      labels = extra;
      names = new String[extra.size()];
      pairs = new byte[extra.size()][];
      String problem = null;
      ExpositionBuffer scratch = new ExpositionBuffer(64);
      for (int i = 0; i < extra.size(); i++) {
        names[i] = extra.name(i);
        if (!isValidLabelName(names[i])) {
          problem = "the added label name " + quote(names[i]) + " is not a valid Prometheus label name";
        }
        scratch.reset();
        scratch.putEscaped(names[i], ExpositionBuffer.RAW);
        scratch.put('=');
        scratch.put('"');
        scratch.putEscaped(extra.value(i), ExpositionBuffer.LABEL_VALUE);
        scratch.put('"');
        pairs[i] = scratch.toByteArray();
      }
      trouble = problem;
      nameList = List.of(names);
      byte[] joinedPairs = null;
      at = new int[pairs.length + 1];
      if (extra.get("le") == null) {
        scratch.reset();
        for (int i = 0; i < pairs.length; i++) {
          if (i > 0) {
            scratch.put(',');
          }
          at[i] = scratch.size();
          scratch.put(pairs[i]);
        }
        at[pairs.length] = scratch.size() + 1;
        joinedPairs = scratch.toByteArray();
      }
      joined = joinedPairs;
      byte[] braced = null;
      if (joinedPairs != null) {
        scratch.reset();
        if (joinedPairs.length > 0) {
          scratch.put('{');
          scratch.put(joinedPairs);
          scratch.put('}');
        }
        scratch.put(' ');
        braced = scratch.toByteArray();
      }
      block = braced;
      scratch.reset();
      writeGoMap(scratch, extra);
      goMap = scratch.toByteArray();
    }
  }

  /** Like Go's {@code %v} of a map[string]string, with newlines escaped to keep it one comment line. */
  private static void writeGoMap(ExpositionBuffer buf, Labels added) {
    buf.putAscii("map[");
    for (int i = 0; i < added.size(); i++) {
      if (i > 0) {
        buf.put(' ');
      }
      buf.putEscaped(added.name(i), ExpositionBuffer.HELP);
      buf.put(':');
      buf.putEscaped(added.value(i), ExpositionBuffer.HELP);
    }
    buf.put(']');
  }

  /** One snapshot's share of a call, with what is the same for all of its lines rendered once. */
  private static final class ExportPlan {
    final SnapshotExport export;
    final AddedLabels added;
    final Snapshot snapshot;
    /** The added labels' names, pairs, ...: the fields of {@link #added}, here for short access. */
    final String[] extraNames;
    /** The added labels' names; one instance for all exports of a call whose names are the same. */
    List<String> addedNames;
    /** {@code name="escaped value"} for each added label, in name order. */
    final byte[][] extraPairs;
    /**
     * The added labels joined by commas: the whole label set of a data point without labels of its own,
     * the common case, copied in one go. Null when an added label is called "le", which must go last.
     */
    final byte[] extraJoined;
    /**
     * Where each added pair starts in {@link #extraJoined}, and one more entry: its length plus one (as if a
     * comma followed). Pairs {@code i..j} are {@code extraJoined[extraAt[i], extraAt[j + 1] - 1)}.
     */
    final int[] extraAt;
    /**
     * {@code {extraJoined} } with the braces and the space before the value, or just the space when there
     * are no added labels: everything between the name and the value of a line without labels of its own.
     * Null when {@link #extraJoined} is.
     */
    final byte[] extraBlock;
    /** {@code " <unix millis>\n"}: everything after a sample's value. */
    final byte[] lineEnd;
    /** Why none of this snapshot's data points can be rendered, or null. */
    final String problem;
    /**
     * Per data point, read once in the snapshot's own order: {@link #SIMPLE} for a scalar without labels of
     * its own (the common line) plus its type's ordinal, 0 for everything else. Rendering goes name by name
     * across all snapshots, so without this it would chase each data point's metric and label objects
     * through memory at random just to learn that the line is a plain one.
     */
    final byte[] kinds;
    /**
     * The data points, and the values of the {@link #SIMPLE} ones, copied in the same pass: rendering then
     * reaches a line's value in one step from the plan instead of through the snapshot, its list, the list's
     * array and the data point, each a likely cache miss when going name by name across 100 sandboxes.
     */
    final DataPoint[] points;
    final Value[] simpleValues;

    ExportPlan(SnapshotExport export) {
      this.export = export;
      this.snapshot = export.snapshot();
      int n = snapshot.pointCount();
      kinds = new byte[n];
      points = new DataPoint[n];
      simpleValues = new Value[n];
      for (int i = 0; i < n; i++) {
        DataPoint dp = snapshot.point(i);
        points[i] = dp;
        MetricType type = dp.metric().type();
        if (type != MetricType.HISTOGRAM && dp.value() != null && dp.histogram() == null
            && dp.labels().isEmpty() && dp.externalLabels().isEmpty()) {
          kinds[i] = (byte) (SIMPLE | type.ordinal());
          simpleValues[i] = dp.value();
        }
      }
      AddedLabels added = AddedLabels.of(export.extraLabels());
      this.added = added;
      extraNames = added.names;
      extraPairs = added.pairs;
      extraJoined = added.joined;
      extraAt = added.at;
      extraBlock = added.block;
      String trouble = added.trouble;
      byte[] end = null;
      try {
        // A space, at most 20 digits and a sign, a newline.
        byte[] text = new byte[24];
        text[0] = ' ';
        int p = PrometheusNumbers.writeLong(text, 1, export.snapshot().when().toEpochMilli());
        text[p++] = '\n';
        end = Arrays.copyOf(text, p);
      } catch (ArithmeticException e) {
        trouble = "the snapshot time " + export.snapshot().when() + " is out of range";
      }
      lineEnd = end;
      problem = trouble;
    }
  }

  /** One label set as it is written: {@code name="escaped value"} per label, and whether each name is valid. */
  private static final class EscapedLabels {
    final byte[][] pairs;
    final boolean[] valid;

    EscapedLabels(Labels set) {
      pairs = new byte[set.size()][];
      valid = new boolean[set.size()];
      ExpositionBuffer scratch = new ExpositionBuffer(64);
      for (int i = 0; i < set.size(); i++) {
        valid[i] = isValidLabelName(set.name(i));
        scratch.reset();
        // An invalid name is never written (the data point is dropped), so any bytes will do for it.
        scratch.putEscaped(set.name(i), ExpositionBuffer.RAW);
        scratch.put('=');
        scratch.put('"');
        scratch.putEscaped(set.value(i), ExpositionBuffer.LABEL_VALUE);
        scratch.put('"');
        pairs[i] = scratch.toByteArray();
      }
    }
  }

  /**
   * A metric's full name and HELP/TYPE lines under one prefix, worked out once per {@link Metric} instance
   * and prefix rather than per scrape (the decoder hands out one instance per distinct metric, the same on
   * every scrape): building the name, checking it and escaping the help were String loops on every scrape.
   * A small table of immutable entries shared by all calls, as {@link AddedLabels}.
   */
  private static final class MetricText {
    private static final MetricText[] TABLE = new MetricText[4096];

    final Metric metric;
    final String prefix;
    final String fullName;
    /** The full name's bytes, or null when it is not a valid metric name. */
    final byte[] nameBytes;
    /** The HELP line (none for an empty help) and the TYPE line; null when the name is not valid. */
    final byte[] header;

    static MetricText of(Metric metric, String prefix) {
      int slot = (System.identityHashCode(metric) * 31 + prefix.hashCode()) & (TABLE.length - 1);
      MetricText known = TABLE[slot];
      if (known != null && known.metric == metric && known.prefix.equals(prefix)) {
        return known;
      }
      MetricText made = new MetricText(metric, prefix);
      TABLE[slot] = made;
      return made;
    }

    private MetricText(Metric metric, String prefix) {
      this.metric = metric;
      this.prefix = prefix;
      fullName = prefix + metric.name();
      nameBytes = isValidMetricName(fullName) ? fullName.getBytes(StandardCharsets.US_ASCII) : null;
      byte[] lines = null;
      if (nameBytes != null) {
        ExpositionBuffer buf = new ExpositionBuffer(64 + 2 * nameBytes.length + 3 * metric.help().length());
        if (!metric.help().isEmpty()) {
          buf.put(Rendering.HELP);
          buf.put(nameBytes);
          buf.put(' ');
          buf.putEscaped(metric.help(), ExpositionBuffer.HELP);
          buf.put('\n');
        }
        buf.put(Rendering.TYPE);
        buf.put(nameBytes);
        buf.put(' ');
        buf.putAscii(metric.type().text());
        buf.put('\n');
        lines = buf.toByteArray();
      }
      header = lines;
    }
  }

  /** All data points rendered under one full metric name: references (export, index) in output order. */
  private static final class MetricGroup {
    final String fullName;
    /** The name's bytes, or null when it is not a valid metric name. */
    final byte[] nameBytes;
    long[] refs;
    int refCount;

    /** {@code expectedRefs}: typically one data point per export. */
    MetricGroup(MetricText text, int expectedRefs) {
      this.fullName = text.fullName;
      this.refs = new long[Math.max(4, expectedRefs)];
      this.nameBytes = text.nameBytes;
    }

    /** {@code ref}: the export's index in the high 32 bits, the data point's in the low ones. */
    void add(long ref) {
      // Small enough (growing out of line) for C1 to inline into the per-data-point loop.
      if (refCount == refs.length) {
        grow();
      }
      refs[refCount++] = ref;
    }

    private void grow() {
      refs = Arrays.copyOf(refs, refCount * 2);
    }

    void absorb(MetricGroup other) {
      // The same full name from two prefixes ("a_" + "b_c" and "a_b_" + "c"): one group, still in
      // (export, index) order, which is the numeric order of the packed references.
      for (int i = 0; i < other.refCount; i++) {
        add(other.refs[i]);
      }
      Arrays.sort(refs, 0, refCount);
    }
  }

  /**
   * What all slices of one exposition share, read-only once made: the snapshots' plans, the data points
   * grouped by full name in output order, and where each slice starts. Safe to render from several threads
   * at once, each slice by one {@link Rendering} of its own.
   */
  private static final class Layout implements SlicedExposition {
    final String commentHeader;
    final ExportPlan[] plans;
    final List<MetricGroup> groups;
    /** Slice {@code k} starts at data point {@code sliceRef[k]} of group {@code sliceGroup[k]}; one more entry ends the last. */
    private final int[] sliceGroup;
    private final int[] sliceRef;

    Layout(String commentHeader, List<SnapshotExport> exports, int sliceBytes) {
      this.commentHeader = commentHeader;
      this.plans = new ExportPlan[exports.size()];
      Map<List<String>, List<String>> addedNames = new HashMap<>();
      for (int i = 0; i < plans.length; i++) {
        plans[i] = new ExportPlan(Objects.requireNonNull(exports.get(i), "export"));
        plans[i].addedNames = addedNames.computeIfAbsent(plans[i].added.nameList, k -> k);
      }
      this.groups = plans.length == 0 ? List.of() : groupByFullName(plans);
      if (plans.length == 0) {
        sliceGroup = new int[] {0};
        sliceRef = new int[] {0};
      } else if (sliceBytes <= 0) {
        sliceGroup = new int[] {0, groups.size()};
        sliceRef = new int[] {0, 0};
      } else {
        int[][] cuts = cut(sliceBytes);
        sliceGroup = cuts[0];
        sliceRef = cuts[1];
      }
    }

    @Override
    public int sliceCount() {
      return sliceGroup.length - 1;
    }

    @Override
    public WriteReport writeSlice(int slice, OutputStream out) throws IOException {
      Objects.requireNonNull(out, "out");
      Objects.checkIndex(slice, sliceCount());
      return new Rendering(this, out).run(slice);
    }

    /**
     * Where to cut: after about {@code sliceBytes} estimated bytes, between two names or, inside a name with
     * more than that, between two data points. The estimate looks at each name's first data point only
     * (names are rendered the same way across sandboxes), so it costs one step per name, not per line.
     */
    private int[][] cut(int sliceBytes) {
      int[] groupAt = new int[16];
      int[] refAt = new int[16];
      int n = 1;
      long filled = 100L * plans.length;
      for (int g = 0; g < groups.size(); g++) {
        MetricGroup group = groups.get(g);
        long perRef = estimatedBytesPerRef(group);
        int r = 0;
        while (r < group.refCount) {
          long fit = (sliceBytes - filled) / perRef;
          if (fit <= 0 && filled > 0) {
            fit = 0;
          } else {
            fit = Math.max(1, fit);
          }
          if (r + fit >= group.refCount) {
            filled += (group.refCount - r) * perRef;
            break;
          }
          r += (int) fit;
          if (n == groupAt.length) {
            groupAt = Arrays.copyOf(groupAt, 2 * n);
            refAt = Arrays.copyOf(refAt, 2 * n);
          }
          groupAt[n] = g;
          refAt[n++] = r;
          filled = 0;
        }
      }
      if (n == groupAt.length) {
        groupAt = Arrays.copyOf(groupAt, n + 1);
        refAt = Arrays.copyOf(refAt, n + 1);
      }
      groupAt[n] = groups.size();
      refAt[n++] = 0;
      // A cut at the very start of a group that directly follows the previous cut would make an empty slice;
      // cuts only ever move forward, so dropping repeated positions is enough.
      int m = 1;
      for (int i = 1; i < n; i++) {
        if (groupAt[i] != groupAt[m - 1] || refAt[i] != refAt[m - 1]) {
          groupAt[m] = groupAt[i];
          refAt[m++] = refAt[i];
        }
      }
      return new int[][] {Arrays.copyOf(groupAt, m), Arrays.copyOf(refAt, m)};
    }

    private long estimatedBytesPerRef(MetricGroup group) {
      long ref = group.refs[0];
      ExportPlan plan = plans[(int) (ref >>> 32)];
      DataPoint dp = plan.snapshot.point((int) ref);
      long name = group.fullName.length();
      long labels = (plan.extraJoined == null ? 64 : plan.extraJoined.length) + 24L * (dp.labels().size()
          + dp.externalLabels().size());
      long line = name + labels + 8 + 24 + (plan.lineEnd == null ? 16 : plan.lineEnd.length);
      Histogram h = dp.histogram();
      long lines = h == null ? 1 : h.bucketCount() + 5;
      // The HELP and TYPE lines, spread over the name's data points.
      long header = (dp.metric().help().length() + 2 * name + 32) / group.refCount;
      return Math.max(1, lines * line + header);
    }
  }

  private static List<MetricGroup> groupByFullName(ExportPlan[] plans) {
    // Keyed by prefix, then by the unprefixed name, so that no full name is built per data point.
    Map<String, Map<String, MetricGroup>> byPrefix = new HashMap<>();
    List<MetricGroup> groups = new ArrayList<>();
    // Sandboxes send the same metrics in the same order, and the decoder gives them the same name
    // instances: the previous snapshot's name and group at the same position are the likely match.
    String previousPrefix = null;
    String[] previousNames = new String[0];
    MetricGroup[] previousGroups = new MetricGroup[0];
    for (int e = 0; e < plans.length; e++) {
      String prefix = plans[e].export.prefix();
      Map<String, MetricGroup> byName = byPrefix.computeIfAbsent(prefix, p -> new HashMap<>());
      Snapshot data = plans[e].snapshot;
      boolean predict = prefix.equals(previousPrefix);
      if (previousNames.length < data.pointCount()) {
        previousNames = Arrays.copyOf(previousNames, data.pointCount());
        previousGroups = Arrays.copyOf(previousGroups, data.pointCount());
      }
      String lastName = null;
      MetricGroup last = null;
      for (int i = 0; i < data.pointCount(); i++) {
        String name = data.point(i).metric().name();
        if (predict && previousNames[i] == name) {
          last = previousGroups[i];
          lastName = name;
        } else if (!name.equals(lastName)) {
          last = byName.get(name);
          if (last == null) {
            // Room for as many data points of this name as this snapshot has, in every snapshot to come.
            int run = 1;
            while (i + run < data.pointCount() && data.point(i + run).metric().name().equals(name)) {
              run++;
            }
            last = new MetricGroup(MetricText.of(data.point(i).metric(), prefix), (plans.length - e) * run);
            byName.put(name, last);
            groups.add(last);
          }
          lastName = name;
        }
        last.add(((long) e << 32) | i);
        previousNames[i] = name;
        previousGroups[i] = last;
      }
      previousPrefix = prefix;
    }
    groups.sort((a, b) -> a.fullName.compareTo(b.fullName));
    List<MetricGroup> merged = new ArrayList<>(groups.size());
    for (MetricGroup g : groups) {
      MetricGroup previous = merged.isEmpty() ? null : merged.get(merged.size() - 1);
      if (previous != null && previous.fullName.equals(g.fullName)) {
        previous.absorb(g);
      } else {
        merged.add(g);
      }
    }
    return merged;
  }

  /**
   * A {@link Rendering}'s buffers and tables, kept in a small pool between renderings: the server renders
   * ~30 slices per scrape of 100 sandboxes, each of which made a 36 KB buffer (about 1 MB of garbage per
   * scrape). The pool holds at most {@link #POOLED} (about the threads that render at once; more renderings
   * at once make their own), each emptied when given back so that it keeps nothing of a scrape alive, and
   * one whose buffer or tables grew unusually large (a huge label set or comment, thousands of label sets)
   * is dropped rather than kept. A bounded queue, as the server's other pools (its gzip arrays and plain
   * slices).
   */
  private static final class Scratch {
    static final int POOLED = 4;
    private static final int KEEP_AT_MOST = 256 * 1024;
    private static final int MAX_KEPT_ENTRIES = 1024;
    private static final ArrayBlockingQueue<Scratch> POOL = new ArrayBlockingQueue<>(POOLED);

    final ExpositionBuffer buf = new ExpositionBuffer(FLUSH_AT + 4096);
    final ExpositionBuffer labels = new ExpositionBuffer(256);
    final Map<Labels, EscapedLabels> escaped = new IdentityHashMap<>();
    final Map<Labels, Rendering.Merge> merges = new IdentityHashMap<>();

    static Scratch take() {
      Scratch s = POOL.poll();
      return s != null ? s : new Scratch();
    }

    static void giveBack(Scratch s) {
      // A table emptied keeps its capacity: one that held thousands of label sets is not kept either.
      boolean large = s.escaped.size() > MAX_KEPT_ENTRIES || s.merges.size() > MAX_KEPT_ENTRIES;
      s.buf.reset();
      s.labels.reset();
      s.escaped.clear();
      s.merges.clear();
      if (!large && s.buf.capacity() <= KEEP_AT_MOST && s.labels.capacity() <= KEEP_AT_MOST) {
        POOL.offer(s); // a full pool drops it
      }
    }
  }

  /** The state of one slice of one exposition (for {@link #write}, the one slice of the whole). */
  private static final class Rendering {
    private static final byte[] END = "\n# End of metric data.\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] HELP = "# HELP ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] TYPE = "# TYPE ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NO_SUFFIX = {};
    private static final byte[] BUCKET = "_bucket".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SUM = "_sum".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] COUNT = "_count".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] MIN = "_min".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] MAX = "_max".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SSD = "_ssd".getBytes(StandardCharsets.US_ASCII);
    private static final String[] SOURCES = {"the data point's labels", "its external labels", "the added labels"};

    private final OutputStream out;
    private final Layout layout;
    private final ExportPlan[] plans;
    /** The buffers and tables below, borrowed from {@link Scratch#POOL} for one {@link #run}. */
    private final Scratch scratch;
    private final ExpositionBuffer buf;
    /** Where the current data point's labels are merged when it has labels of its own. */
    private final ExpositionBuffer labels;
    /**
     * The current data point's labels, without braces and without a histogram's bucket bound: either the
     * export's {@link ExportPlan#extraJoined} or the contents of {@link #labels}.
     */
    private byte[] labelBytes;
    private int labelLength;
    private final List<String> dropped = new ArrayList<>();
    private long flushed;
    /**
     * Data points' own and external label sets, escaped once per call: the decoder hands out one instance per
     * distinct set, so the same few sets recur in every snapshot.
     */
    private final Map<Labels, EscapedLabels> escaped;
    /** The last merge worked out for each data-point label set. */
    private final Map<Labels, Merge> merges;
    /** The type written in the current name's TYPE line; null until it is written. */
    private MetricType writtenType;

    Rendering(Layout layout, OutputStream out) {
      this.out = out;
      this.layout = layout;
      this.plans = layout.plans;
      Scratch s = Scratch.take();
      scratch = s;
      buf = s.buf;
      labels = s.labels;
      escaped = s.escaped;
      merges = s.merges;
    }

    /** Renders the slice; the Rendering is done with afterwards (its scratch goes back to the pool). */
    WriteReport run(int slice) throws IOException {
      try {
        return render(slice);
      } finally {
        Scratch.giveBack(scratch);
      }
    }

    private WriteReport render(int slice) throws IOException {
      if (slice == 0) {
        writeCommentHeader(layout.commentHeader);
      }
      int fromGroup = layout.sliceGroup[slice];
      int fromRef = layout.sliceRef[slice];
      int toGroup = layout.sliceGroup[slice + 1];
      int toRef = layout.sliceRef[slice + 1];
      List<MetricGroup> groups = layout.groups;
      for (int g = fromGroup; g <= toGroup && g < groups.size(); g++) {
        MetricGroup group = groups.get(g);
        int from = g == fromGroup ? fromRef : 0;
        int to = g == toGroup ? toRef : group.refCount;
        if (from >= to) {
          continue;
        }
        writtenType = from == 0 ? null : typeBefore(group, from);
        writeGroup(group, from, to);
      }
      if (slice == layout.sliceCount() - 1) {
        buf.put(END);
      }
      flush();
      return new WriteReport(flushed, dropped);
    }

    /**
     * For a slice that starts inside a name: the type its TYPE line was written with by an earlier slice
     * (the first of the name's data points that could be written), or null when none could.
     */
    private MetricType typeBefore(MetricGroup group, int end) {
      if (group.nameBytes == null) {
        return null;
      }
      for (int r = 0; r < end; r++) {
        ExportPlan plan = plans[(int) (group.refs[r] >>> 32)];
        DataPoint dp = plan.points[(int) group.refs[r]];
        if (plan.problem == null
            && checkShape(dp, null) == null
            && renderLabels(dp, plan, dp.metric().type() == MetricType.HISTOGRAM) == null) {
          return dp.metric().type();
        }
      }
      return null;
    }

    private void writeCommentHeader(String commentHeader) {
      if (commentHeader != null && !commentHeader.isEmpty()) {
        for (String line : commentHeader.split("\n", -1)) {
          buf.putAscii("# ");
          buf.putEscaped(line, ExpositionBuffer.RAW);
          buf.put('\n');
        }
      }
      if (plans.length == 1) {
        Snapshot s = plans[0].export.snapshot();
        buf.putAscii("# Writing data from snapshot containing " + s.data().size() + " data points taken at "
            + RunscTime.formatGoString(s.when()) + ".\n");
      } else {
        buf.putAscii("# Writing data from " + plans.length + " snapshots:\n");
        for (ExportPlan plan : plans) {
          Snapshot s = plan.export.snapshot();
          buf.putAscii("#   - Snapshot with " + s.data().size() + " data points taken at " + RunscTime.formatGoString(s.when())
              + ": ");
          buf.put(plan.added.goMap);
          buf.put('\n');
        }
      }
      buf.put('\n');
    }

    private void writeGroup(MetricGroup group, int from, int to) throws IOException {
      for (int r = from; r < to; r++) {
        ExportPlan plan = plans[(int) (group.refs[r] >>> 32)];
        int index = (int) group.refs[r];
        int kind = plan.kinds[index];
        if ((kind & SIMPLE) != 0
            && writtenType == TYPES[kind & 3]
            && plan.problem == null
            && plan.extraBlock != null) {
          // Checked when the snapshot was planned; the header is out, the name valid (it has a type).
          writeSimpleLine(group.nameBytes, plan, plan.simpleValues[index]);
          if (buf.size() >= FLUSH_AT) {
            flush();
          }
          continue;
        }
        DataPoint dp = plan.points[index];
        String problem = plan.problem;
        if (problem == null && group.nameBytes == null) {
          problem = quote(group.fullName) + " is not a valid Prometheus metric name";
        }
        if (problem == null) {
          problem = checkShape(dp, writtenType);
        }
        if (problem == null) {
          problem = renderLabels(dp, plan, dp.metric().type() == MetricType.HISTOGRAM);
        }
        if (problem != null) {
          dropped.add(describe(group, dp, plan) + ": " + problem);
          continue;
        }
        if (dp.metric().type() == MetricType.HISTOGRAM) {
          writeHistogram(group, dp, plan);
        } else {
          writeHeaderOnce(dp, plan);
          writeLine(group.nameBytes, NO_SUFFIX, null, dp.value(), 0, plan);
        }
        if (buf.size() >= FLUSH_AT) {
          flush();
        }
      }
    }

    /** Null when the data point carries what its type needs, else why not. */
    private static String checkShape(DataPoint dp, MetricType writtenType) {
      MetricType type = dp.metric().type();
      if (writtenType != null && writtenType != type) {
        return "it is of type " + type.text() + " but an earlier data point of this name was written as "
            + writtenType.text();
      }
      if (type != MetricType.HISTOGRAM) {
        if (dp.value() == null) {
          return "a " + type.text() + " without a value";
        }
        if (dp.histogram() != null) {
          return "a " + type.text() + " with a histogram";
        }
        return null;
      }
      Histogram h = dp.histogram();
      if (h == null) {
        return "a histogram without histogram data";
      }
      if (dp.value() != null) {
        return "a histogram with a scalar value";
      }
      long total = 0;
      for (int i = 0; i < h.bucketCount(); i++) {
        Bucket b = h.bucket(i);
        if (b.count() < 0) {
          return "a histogram bucket with a negative count";
        }
        total += b.count();
        if (total < 0) {
          return "histogram bucket counts add up to more than 2^63-1";
        }
      }
      return null;
    }

    /**
     * Puts the data point's labels, its external labels and the added labels together in {@link #labels},
     * {@code le} last. Null on success, else why the labels cannot be written. How the three sorted sets
     * interleave (and whether they can) depends only on the sets' names, so it is worked out once per label
     * set and kind of added labels ({@link Merge}), and each line only copies escaped pairs.
     */
    private String renderLabels(DataPoint dp, ExportPlan plan, boolean histogram) {
      Labels own = dp.labels();
      Labels external = dp.externalLabels();
      if (own.isEmpty() && external.isEmpty() && plan.extraJoined != null) {
        labelBytes = plan.extraJoined;
        labelLength = plan.extraJoined.length;
        return null;
      }
      Merge merge = merges.get(own);
      if (merge == null
          || merge.external != external
          || merge.addedNames != plan.addedNames
          || merge.histogram != histogram) {
        // A Merge pays off for the label sets the decoder shares (the same few in every snapshot, without
        // external labels). The rest are one-offs: the meta snapshot's per-sandbox lines carry the sandbox's
        // labels as external labels and are made anew on every scrape (capabilities, metadata), so a Merge
        // (and an EscapedLabels) per line was ~2 MB of garbage per scrape of 100 sandboxes. Those are merged
        // straight into the buffer; anything unusual (an invalid or repeated name, "le") goes the Merge way.
        if ((merge != null || !external.isEmpty()) && plan.extraJoined != null && mergeDirectly(own, external, plan)) {
          return null;
        }
        merge = new Merge(own, external, plan, histogram);
        merges.put(own, merge);
      }
      if (merge.problem != null) {
        return merge.problem;
      }
      labels.reset();
      if (plan.extraJoined != null) {
        // The fixed runs of the data point's own and external pairs (commas included), each followed by a run
        // of added pairs, which is a slice of the export's joined ones: a few copies after one reservation,
        // instead of two buffer writes per pair.
        byte[][] fixed = merge.fixed;
        int[] runFrom = merge.runFrom;
        int[] runTo = merge.runTo;
        int[] at = plan.extraAt;
        byte[] joined = plan.extraJoined;
        int length = merge.fixedLength;
        for (int k = 0; k < runFrom.length; k++) {
          length += at[runTo[k] + 1] - 1 - at[runFrom[k]];
        }
        byte[] b = labels.room(length);
        int p = 0;
        for (int k = 0; k < runFrom.length; k++) {
          byte[] f = fixed[k];
          System.arraycopy(f, 0, b, p, f.length);
          p += f.length;
          int from = at[runFrom[k]];
          int n = at[runTo[k] + 1] - 1 - from;
          System.arraycopy(joined, from, b, p, n);
          p += n;
        }
        byte[] last = fixed[runFrom.length];
        System.arraycopy(last, 0, b, p, last.length);
        labels.setSize(p + last.length);
        labelBytes = b;
        labelLength = p + last.length;
        return null;
      }
      byte[][] ownPairs = merge.ownPairs;
      byte[][] externalPairs = merge.externalPairs;
      byte[][] addedPairs = plan.extraPairs;
      for (int i = 0; i < merge.sources.length; i++) {
        if (i > 0) {
          labels.put(',');
        }
        int index = merge.indices[i];
        byte source = merge.sources[i];
        labels.put(source == 0 ? ownPairs[index] : source == 1 ? externalPairs[index] : addedPairs[index]);
      }
      labelBytes = labels.array();
      labelLength = labels.size();
      return null;
    }

    /**
     * Writes the data point's own labels (escaped here), its external labels (escaped once per instance, as
     * added labels are: {@link AddedLabels}) and the export's added labels into {@link #labels}, in name
     * order, allocating nothing. False, with nothing decided, when a name is invalid, repeated or "le": the
     * caller then works out a {@link Merge}, which says why (or places "le").
     */
    private boolean mergeDirectly(Labels own, Labels external, ExportPlan plan) {
      AddedLabels ext = external.isEmpty() ? null : AddedLabels.of(external);
      if (ext != null && ext.trouble != null) {
        return false;
      }
      int ownCount = own.size();
      int externalCount = external.size();
      String[] added = plan.extraNames;
      byte[][] addedPairs = plan.extraPairs;
      ExpositionBuffer out = labels;
      out.reset();
      int a = 0;
      int b = 0;
      int c = 0;
      String previous = null;
      while (true) {
        String name = null;
        int source = -1;
        if (a < ownCount) {
          name = own.name(a);
          source = 0;
        }
        if (b < externalCount) {
          String n = external.name(b);
          if (name == null || n.compareTo(name) < 0) {
            name = n;
            source = 1;
          }
        }
        if (c < added.length && (name == null || added[c].compareTo(name) < 0)) {
          name = added[c];
          source = 2;
        }
        if (name == null) {
          break;
        }
        if (name.equals(previous) || name.equals("le")) {
          return false;
        }
        if (previous != null) {
          out.put(',');
        }
        previous = name;
        if (source == 0) {
          if (!isValidLabelName(name)) {
            return false;
          }
          out.putAscii(name);
          out.put('=');
          out.put('"');
          out.putEscaped(own.value(a++), ExpositionBuffer.LABEL_VALUE);
          out.put('"');
        } else if (source == 1) {
          out.put(ext.pairs[b++]);
        } else {
          out.put(addedPairs[c++]);
        }
      }
      labelBytes = out.array();
      labelLength = out.size();
      return true;
    }

    private EscapedLabels escaped(Labels set) {
      EscapedLabels e = escaped.get(set);
      if (e == null) {
        e = new EscapedLabels(set);
        escaped.put(set, e);
      }
      return e;
    }

    /**
     * How one data point's own and external labels merge with an export's added labels: the order of the
     * pairs to write, or why they cannot be written. Valid for any export whose added labels have the same
     * names ({@link ExportPlan#addedNames}), and for histograms or not as {@link #histogram} says.
     */
    private final class Merge {
      final Labels external;
      final List<String> addedNames;
      final boolean histogram;
      final byte[][] ownPairs;
      final byte[][] externalPairs;
      /** Per pair in output order: 0 own, 1 external, 2 added; and the index in that set. */
      final byte[] sources;
      final int[] indices;
      /**
       * The same order for an export without an added "le" (whose added pairs are one joined block): fixed
       * bytes {@code fixed[k]} (own and external pairs, with the commas around them), then added pairs
       * {@code runFrom[k]..runTo[k]}, for each k; then {@code fixed[runFrom.length]}.
       */
      final byte[][] fixed;
      final int[] runFrom;
      final int[] runTo;
      final int fixedLength;
      final String problem;

      Merge(Labels own, Labels external, ExportPlan plan, boolean histogram) {
        this.external = external;
        this.addedNames = plan.addedNames;
        this.histogram = histogram;
        EscapedLabels ownEscaped = escaped(own);
        EscapedLabels externalEscaped = escaped(external);
        ownPairs = ownEscaped.pairs;
        externalPairs = externalEscaped.pairs;
        String[] added = plan.extraNames;
        int total = own.size() + external.size() + added.length;
        byte[] order = new byte[total];
        int[] at = new int[total];
        int n = 0;
        int a = 0;
        int b = 0;
        int c = 0;
        String previous = null;
        int previousSource = -1;
        int leSource = -1;
        int leIndex = -1;
        String trouble = null;
        while (trouble == null) {
          String name = null;
          int source = -1;
          if (a < own.size()) {
            name = own.name(a);
            source = 0;
          }
          if (b < external.size() && (name == null || external.name(b).compareTo(name) < 0)) {
            name = external.name(b);
            source = 1;
          }
          if (c < added.length && (name == null || added[c].compareTo(name) < 0)) {
            name = added[c];
            source = 2;
          }
          if (name == null) {
            break;
          }
          if (name.equals(previous)) {
            trouble = "label " + quote(name) + " is set by both " + SOURCES[previousSource] + " and "
                + SOURCES[source];
            break;
          }
          if (source != 2 && !(source == 0 ? ownEscaped : externalEscaped).valid[source == 0 ? a : b]) {
            trouble = name.isEmpty()
                ? "an empty label name"
                : "label name " + quote(name) + " is not a valid Prometheus label name";
            break;
          }
          int index = source == 0 ? a++ : source == 1 ? b++ : c++;
          previous = name;
          previousSource = source;
          if (name.equals("le")) {
            if (histogram) {
              trouble = "label \"le\" from " + SOURCES[source] + " clashes with the histogram's bucket bounds";
              break;
            }
            // Prometheus puts "le" last wherever it occurs; so does gVisor.
            leSource = source;
            leIndex = index;
            continue;
          }
          order[n] = (byte) source;
          at[n++] = index;
        }
        if (trouble == null && leSource >= 0) {
          order[n] = (byte) leSource;
          at[n++] = leIndex;
        }
        sources = Arrays.copyOf(order, n);
        indices = Arrays.copyOf(at, n);
        problem = trouble;
        List<byte[]> fixedParts = new ArrayList<>();
        int[] from = new int[n];
        int[] to = new int[n];
        int runs = 0;
        ExpositionBuffer part = new ExpositionBuffer(64);
        int length = 0;
        for (int i = 0; i < n; i++) {
          if (sources[i] == 2) {
            if (runs > 0 && part.size() == 0 && to[runs - 1] + 1 == indices[i]) {
              to[runs - 1] = indices[i];
              continue;
            }
            if (i > 0) {
              part.put(',');
            }
            fixedParts.add(part.toByteArray());
            length += part.size();
            part.reset();
            from[runs] = indices[i];
            to[runs++] = indices[i];
          } else {
            if (i > 0) {
              part.put(',');
            }
            part.put(sources[i] == 0 ? ownPairs[indices[i]] : externalPairs[indices[i]]);
          }
        }
        fixedParts.add(part.toByteArray());
        length += part.size();
        fixed = fixedParts.toArray(new byte[0][]);
        runFrom = Arrays.copyOf(from, runs);
        runTo = Arrays.copyOf(to, runs);
        fixedLength = length;
      }
    }

    /**
     * One sample line: name and suffix, the current labels (with {@code le} when given), the value
     * ({@code value}, or {@code count} when it is null) and the line end. Written straight into the
     * buffer's array after one bounds check, because this runs for every line of every scrape.
     */
    private void writeLine(
        byte[] name, byte[] suffix, Value le, Value value, long count, ExportPlan plan) {
      byte[] lineEnd = plan.lineEnd;
      int max = name.length + suffix.length + labelLength + 16 + 2 * PrometheusNumbers.MAX_LENGTH + lineEnd.length;
      byte[] b = buf.room(max);
      int p = buf.size();
      System.arraycopy(name, 0, b, p, name.length);
      p += name.length;
      if (suffix.length > 0) {
        System.arraycopy(suffix, 0, b, p, suffix.length);
        p += suffix.length;
      }
      if (le == null && labelBytes == plan.extraJoined) {
        // The common line: only the added labels, braces and space included in one precomputed block.
        byte[] block = plan.extraBlock;
        System.arraycopy(block, 0, b, p, block.length);
        p += block.length;
      } else if (labelLength > 0 || le != null) {
        b[p++] = '{';
        System.arraycopy(labelBytes, 0, b, p, labelLength);
        p += labelLength;
        if (le != null) {
          if (labelLength > 0) {
            b[p++] = ',';
          }
          b[p++] = 'l';
          b[p++] = 'e';
          b[p++] = '=';
          b[p++] = '"';
          p = PrometheusNumbers.write(b, p, le);
          b[p++] = '"';
        }
        b[p++] = '}';
        b[p++] = ' ';
      } else {
        b[p++] = ' ';
      }
      p = value != null ? PrometheusNumbers.write(b, p, value) : PrometheusNumbers.writeLong(b, p, count);
      System.arraycopy(lineEnd, 0, b, p, lineEnd.length);
      buf.setSize(p + lineEnd.length);
    }

    /** A scalar line with only the added labels, from the plan's copy of the value. */
    private void writeSimpleLine(byte[] name, ExportPlan plan, Value value) {
      byte[] block = plan.extraBlock;
      byte[] lineEnd = plan.lineEnd;
      byte[] b = buf.room(name.length + block.length + PrometheusNumbers.MAX_LENGTH + lineEnd.length);
      int p = buf.size();
      System.arraycopy(name, 0, b, p, name.length);
      p += name.length;
      System.arraycopy(block, 0, b, p, block.length);
      p += block.length;
      p = PrometheusNumbers.write(b, p, value);
      System.arraycopy(lineEnd, 0, b, p, lineEnd.length);
      buf.setSize(p + lineEnd.length);
    }

    /** {@code plan}: the data point's; its prefix and metric give the group's full name. */
    private void writeHeaderOnce(DataPoint dp, ExportPlan plan) {
      if (writtenType != null) {
        return;
      }
      buf.put('\n');
      buf.put(MetricText.of(dp.metric(), plan.export.prefix()).header);
      writtenType = dp.metric().type();
    }

    private void writeHistogram(MetricGroup group, DataPoint dp, ExportPlan plan) throws IOException {
      Histogram h = dp.histogram();
      // gVisor sets every histogram apart with a blank line before (ahead of the HELP line) and after.
      buf.put('\n');
      writeHeaderOnce(dp, plan);
      long cumulative = 0;
      for (int i = 0; i < h.bucketCount(); i++) {
        Bucket bucket = h.bucket(i);
        cumulative += bucket.count();
        writeLine(group.nameBytes, BUCKET, bucket.upperBound(), null, cumulative, plan);
        // Up to 256 buckets: hand over full chunks inside a histogram too, or the buffer would grow.
        if (buf.size() >= FLUSH_AT) {
          flush();
        }
      }
      writeLine(group.nameBytes, SUM, null, h.total(), 0, plan);
      writeLine(group.nameBytes, COUNT, null, null, cumulative, plan);
      if (!h.isClassic()) {
        writeLine(group.nameBytes, MIN, null, h.min(), 0, plan);
        writeLine(group.nameBytes, MAX, null, h.max(), 0, plan);
        writeLine(group.nameBytes, SSD, null, h.ssd(), 0, plan);
      }
      buf.put('\n');
    }

    private void flush() throws IOException {
      buf.writeTo(out);
      flushed += buf.size();
      buf.reset();
    }

    private static String describe(MetricGroup group, DataPoint dp, ExportPlan plan) {
      return "dropped " + group.fullName + dp.labels() + " of the snapshot with added labels "
          + plan.export.extraLabels();
    }
  }


  /** {@code [a-zA-Z_][a-zA-Z0-9_]*}: the Prometheus label name grammar. */
  static boolean isValidLabelName(String name) {
    return isValidName(name, false);
  }

  /** {@code [a-zA-Z_:][a-zA-Z0-9_:]*}: the Prometheus metric name grammar. */
  static boolean isValidMetricName(String name) {
    return isValidName(name, true);
  }

  /** Per ASCII char: 1 may start a label name, 2 may continue one, 4 may start or continue a metric name. */
  private static final byte[] NAME_CHARS = new byte[128];

  static {
    for (char c = 0; c < 128; c++) {
      boolean letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
      boolean digit = c >= '0' && c <= '9';
      NAME_CHARS[c] = (byte) ((letter ? 1 | 2 | 4 : 0) | (digit ? 2 : 0) | (c == ':' ? 4 : 0));
    }
  }

  private static boolean isValidName(String name, boolean metric) {
    int n = name.length();
    if (n == 0) {
      return false;
    }
    char first = name.charAt(0);
    if (first >= 128 || (NAME_CHARS[first] & (metric ? 4 : 1)) == 0) {
      return false;
    }
    int rest = metric ? 4 | 2 : 2;
    for (int i = 1; i < n; i++) {
      char c = name.charAt(i);
      if (c >= 128 || (NAME_CHARS[c] & rest) == 0) {
        return false;
      }
    }
    return true;
  }

  private static String quote(String s) {
    return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + '"';
  }
}
