package dev.sandboxmetrics.simulator;

import dev.sandboxmetrics.simulator.workload.BenchWorkload;
import dev.sandboxmetrics.simulator.workload.RealisticWorkload;
import dev.sandboxmetrics.simulator.workload.Workload;
import java.util.Locale;

/** Which metrics a simulated sandbox registers and how their values behave. */
public enum Profile {
  /**
   * gVisor's metric names and help texts (fs, gofer, unimplemented syscalls, netstack...), memory gauges and
   * two distributions; counters grow, gauges move and distributions gain samples on every export.
   */
  REALISTIC("realistic"),
  /**
   * The benchmark workload of {@code testdata/bench/}: 175 data points, the same values on every call with a
   * fresh snapshot time; replies are pre-encoded so that many sandboxes cost little CPU.
   */
  BENCH("bench");

  private final String cliName;

  Profile(String cliName) {
    this.cliName = cliName;
  }

  public String cliName() {
    return cliName;
  }

  Workload newWorkload(long seed) {
    return this == BENCH ? new BenchWorkload() : new RealisticWorkload(seed);
  }

  /** The profile with this command-line name (case-insensitive). */
  public static Profile parse(String name) {
    String n = name.trim().toLowerCase(Locale.ROOT);
    for (Profile p : values()) {
      if (p.cliName.equals(n)) {
        return p;
      }
    }
    throw new IllegalArgumentException("unknown profile \"" + name + "\"; choose realistic or bench");
  }

  @Override
  public String toString() {
    return cliName;
  }
}
