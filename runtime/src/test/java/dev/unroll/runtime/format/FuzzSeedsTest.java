package dev.unroll.runtime.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The seed corpus checked in for the fuzz targets is what {@link FuzzSeeds} makes: no seed missing, stale or changed.
 * To make it again after an intended change: {@code UNROLL_UPDATE_FUZZ_SEEDS=1 mvn -B -o -pl runtime test
 * -Dtest=FuzzSeedsTest -Dsurefire.failIfNoSpecifiedTests=false}, then review {@code git status}.
 */
class FuzzSeedsTest {

  private static final Path RESOURCES = Path.of(System.getProperty("basedir", "."), "src/test/resources");

  @Test
  void checkedInSeedsAreWhatTheGeneratorMakes() throws IOException {
    if (System.getenv("UNROLL_UPDATE_FUZZ_SEEDS") != null) {
      FuzzSeeds.write(RESOURCES);
    }
    for (Map.Entry<FuzzSeeds.Target, Map<String, byte[]>> e : FuzzSeeds.all().entrySet()) {
      Path folder = e.getKey().folder(RESOURCES);
      TreeSet<String> checkedIn = new TreeSet<>();
      if (Files.isDirectory(folder)) {
        try (var files = Files.list(folder)) {
          files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("seed-")).forEach(checkedIn::add);
        }
      }
      TreeSet<String> made = new TreeSet<>();
      e.getValue().keySet().forEach(name -> made.add("seed-" + name));
      assertEquals(made, checkedIn, folder + ": the seeds checked in differ from FuzzSeeds'; see the class comment");
      for (Map.Entry<String, byte[]> seed : e.getValue().entrySet()) {
        Path file = folder.resolve("seed-" + seed.getKey());
        assertArrayEquals(seed.getValue(), Files.readAllBytes(file), file + " differs from what FuzzSeeds makes");
      }
    }
  }
}
