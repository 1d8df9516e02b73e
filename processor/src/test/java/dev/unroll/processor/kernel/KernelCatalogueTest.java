package dev.unroll.processor.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.unroll.processor.kernel.Role.Kind;
import dev.unroll.runtime.kernel.Kernels;
import dev.unroll.runtime.opencl.DeviceModel;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The kernel catalogue against the two things it describes, so that none of the three can drift apart:
 * <ul>
 *   <li>the runtime's {@link Kernels}: every entry is a method there whose parameters are its roles in order, each
 *       tensor role the array of its elements and an int offset (an int8 weight its bytes, its scales and the
 *       offset; token ids, targets and lengths a bare {@code int[]}), each size an int, each constant a float; the
 *       parameters' names (read from the
 *       interface's source, since the class file keeps none) are the roles' names, so that two ints swapped show;
 *       the variants' group and pack methods take what the generated code passes; and every method of
 *       {@code Kernels} is in the catalogue or named here as called by the generated code directly;
 *   <li>{@code ops.cl}: every phase of every entry is a function {@code uk_<method><suffix>} whose parameters are
 *       the roles in order (a tensor one {@code __global} pointer to its elements, {@code const} unless the kernel
 *       writes it, a size an int, a constant a float, names as the roles'), then {@code __local float* scratch}
 *       exactly when the phase has local floats; and its {@code UK_TILE} and {@code UK_GEMM_*} defines are the catalogue's GEMM constants.
 * </ul>
 */
class KernelCatalogueTest {

  /** Methods of {@code Kernels} outside the catalogue, with why: the generated code calls them by itself. */
  private static final Map<String, String> UNCATALOGUED = Map.of(
      "zero", "the generated code clears gradients with it before a backward pass, outside the plan");

  /** Sizes that a decode step knows only at run time: the phases get -1 for them and must not read it. */
  private static final Set<String> RUN_TIME = Set.of("pos", "pos0");

  // ---------------------------------------------------------------------------------------------------------------
  // The runtime's Kernels

  @Test
  void everyKernelIsARuntimeMethodTakingItsRolesInOrder() throws IOException {
    Map<String, List<String>> names = parameterNames(kernelsSource());
    Set<Kind> kinds = new TreeSet<>();
    for (Kernel k : Kernel.values()) {
      Method m = method(k.method());
      List<Class<?>> want = new ArrayList<>();
      List<String> wantNames = new ArrayList<>();
      for (Role r : k.roles()) {
        kinds.add(r.kind());
        wantNames.add(r.name());
        List<Class<?>> types = javaTypes(r);
        want.addAll(types);
        for (int i = 1; i < types.size(); i++) {
          wantNames.add(null); // the offset (and an int8 weight's scales): named as the runtime likes
        }
      }
      assertEquals(want, List.of(m.getParameterTypes()), k + ": the parameter types of Kernels." + k.method());
      List<String> got = names.get(k.method());
      assertTrue(got != null, "Kernels.java declares no method " + k.method());
      assertEquals(want.size(), got.size(), k + ": parameters in Kernels.java " + got);
      for (int i = 0; i < got.size(); i++) {
        if (wantNames.get(i) != null) {
          assertEquals(wantNames.get(i), got.get(i), k + ": parameter " + i + " of Kernels." + k.method());
        }
      }
    }
    // every kind of role is checked against a real parameter (LENGTHS an int[], CONSTANT a float)
    assertEquals(Set.of(Kind.values()), kinds, "kinds of role in the catalogue");
  }

  @Test
  void variantsReadTheWeightInTheirFormatWithGroupAndPackMethods() {
    assertEquals(Optional.of(Kernel.MATMUL_FORWARD_BF16), Kernel.MATMUL_FORWARD.withWeights(Element.SHORT));
    assertEquals(Optional.of(Kernel.MATMUL_FORWARD_INT8), Kernel.MATMUL_FORWARD.withWeights(Element.BYTE));
    assertEquals(Optional.empty(), Kernel.MATMUL_BACKWARD.withWeights(Element.SHORT));
    for (Kernel k : Kernel.values()) {
      if (k.base().isEmpty()) {
        assertFalse(k.group().isPresent() || k.pack().isPresent(), k + ": group or pack without being a variant");
        continue;
      }
      Kernel base = k.base().orElseThrow();
      assertEquals(base.roles().stream().map(Role::name).toList(), k.roles().stream().map(Role::name).toList(), k
          + ": a variant's roles are its base's");
      List<Class<?>> weights = javaTypes(k.role(Role.WEIGHT));
      weights = weights.subList(0, weights.size() - 1); // the arrays, without the offset
      // group(out, outOffs, inp, inpOff, weight arrays, weightOffs, rows, C): products of one input row
      List<Class<?>> group = new ArrayList<>(List.of(float[].class, int[].class, float[].class, int.class));
      group.addAll(weights);
      group.addAll(List.of(int[].class, int[].class, int.class));
      assertEquals(group, List.of(method(k.group().orElseThrow()).getParameterTypes()), k.group().orElseThrow());
      // pack(weight arrays, weightOff, C, OC)
      List<Class<?>> pack = new ArrayList<>(weights);
      pack.addAll(List.of(int.class, int.class, int.class));
      assertEquals(pack, List.of(method(k.pack().orElseThrow()).getParameterTypes()), k.pack().orElseThrow());
    }
  }

  @Test
  void everyRuntimeKernelIsCatalogued() {
    Set<String> catalogued = new TreeSet<>(UNCATALOGUED.keySet());
    for (Kernel k : Kernel.values()) {
      catalogued.add(k.method());
      k.group().ifPresent(catalogued::add);
      k.pack().ifPresent(catalogued::add);
    }
    Set<String> runtime = Arrays.stream(Kernels.class.getMethods())
        .filter(m -> m.getDeclaringClass() == Kernels.class && !Modifier.isStatic(m.getModifiers()))
        .map(Method::getName).collect(Collectors.toCollection(TreeSet::new));
    Set<String> missing = new TreeSet<>(runtime);
    missing.removeAll(catalogued);
    Set<String> extra = new TreeSet<>(catalogued);
    extra.removeAll(runtime);
    assertTrue(missing.isEmpty() && extra.isEmpty(), "methods of Kernels not in the catalogue: " + missing
        + "; in the catalogue, not in Kernels: " + extra);
  }

  private static Method method(String name) {
    List<Method> found = Arrays.stream(Kernels.class.getMethods()).filter(m -> m.getName().equals(name)).toList();
    assertEquals(1, found.size(), "Kernels methods named " + name + ": " + found);
    return found.get(0);
  }

  /** The Java parameters a role takes in {@code Kernels}. */
  private static List<Class<?>> javaTypes(Role r) {
    if (r.kind() == Kind.SIZE) {
      return List.of(int.class);
    }
    if (r.kind() == Kind.CONSTANT) {
      return List.of(float.class);
    }
    return switch (r.element()) {
      case FLOAT -> List.of(float[].class, int.class);
      case SHORT -> List.of(short[].class, int.class);
      case BYTE -> List.of(byte[].class, float[].class, int.class);
      case INT -> List.of(int[].class);
    };
  }

  /** The source of {@code Kernels}, from the runtime module beside this one. */
  private static String kernelsSource() throws IOException {
    Path start = Path.of(System.getProperty("basedir", System.getProperty("user.dir"))).toAbsolutePath();
    for (Path dir = start; dir != null; dir = dir.getParent()) {
      Path source = dir.resolve("runtime/src/main/java/dev/unroll/runtime/kernel/Kernels.java");
      if (Files.isRegularFile(source)) {
        return Files.readString(source);
      }
    }
    return fail("no runtime/src/main/java/dev/unroll/runtime/kernel/Kernels.java in " + start
        + " or a folder above it: the parameters' names cannot be checked");
  }

  /** Each method declared in Java or OpenCL C source, with its parameters' names. */
  private static Map<String, List<String>> parameterNames(String source) {
    Map<String, List<String>> out = new HashMap<>();
    signatures(source, "(?:void|float|int)").forEach((name, params) ->
        out.put(name, params.stream().map(p -> p.substring(p.lastIndexOf(' ') + 1)).toList()));
    return out;
  }

  /**
   * The functions declared in {@code source} with a return type matching {@code returns}: each one's parameters,
   * white space collapsed, in order. Comments are removed first; a call is no declaration, having no type before
   * it.
   */
  private static Map<String, List<String>> signatures(String source, String returns) {
    String code = source.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\n]*", " ");
    Matcher m = Pattern.compile("\\b" + returns + "\\s+(\\w+)\\s*\\(([^)]*)\\)").matcher(code);
    Map<String, List<String>> out = new LinkedHashMap<>();
    while (m.find()) {
      List<String> params = Arrays.stream(m.group(2).split(",")).map(p -> p.trim().replaceAll("\\s+", " "))
          .filter(p -> !p.isEmpty()).toList();
      assertTrue(out.put(m.group(1), params) == null, m.group(1) + " is declared twice");
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // ops.cl

  @Test
  void everyOpenClPhaseIsAnOpsClFunctionTakingTheRoles() throws IOException {
    Map<String, List<String>> functions = signatures(resource("ops.cl"), "void");
    Set<String> seen = new TreeSet<>();
    for (Kernel k : Kernel.values()) {
      if (!k.openCl()) {
        assertTrue(k.roles().stream().anyMatch(r -> r.element() == Element.BYTE), k
            + " has no OpenCL version, though OpenCL could read all its arguments");
        continue;
      }
      // small and large sizes: every phase a kernel has (a product of few rows is a matrix-vector phase)
      for (long size : new long[] {1, 300}) {
        for (Phase p : k.phases(sizes(k, size))) {
          String function = "uk_" + k.method() + p.suffix();
          List<String> params = functions.get(function);
          assertTrue(params != null, function + " is not in ops.cl");
          assertEquals(openClParameters(k, p), params, function + " in ops.cl");
          seen.add(function);
        }
      }
    }
    assertTrue(seen.size() > 30, "functions checked: " + seen);
  }

  @Test
  void gemmConstantsAreOpsCls() throws IOException {
    Map<String, Integer> defines = new HashMap<>();
    Matcher m = Pattern.compile("(?m)^#define (UK_\\w+) (\\d+)$").matcher(resource("ops.cl"));
    while (m.find()) {
      defines.put(m.group(1), Integer.parseInt(m.group(2)));
    }
    assertEquals(OpenClGeometry.GROUP, defines.get("UK_TILE"), "a GEMM work-group's side");
    assertEquals(OpenClGeometry.TILE, defines.get("UK_GEMM_T"), "a GEMM tile's side");
    assertEquals(OpenClGeometry.TILE_K, defines.get("UK_GEMM_TK"), "a GEMM k-step");
    assertEquals(OpenClGeometry.B_ROW, defines.get("UK_GEMM_LDB"), "a row of the GEMM's staged b");
    // the scratch uk_gemm indexes: the a block (T x TK) and then TK rows of b
    assertEquals(defines.get("UK_GEMM_T") * defines.get("UK_GEMM_TK")
        + defines.get("UK_GEMM_TK") * defines.get("UK_GEMM_LDB"), OpenClGeometry.TILE_FLOATS, "GEMM scratch");
    assertEquals(OpenClGeometry.TILE_FLOATS, Kernel.MATMUL_FORWARD.phases(new long[] {65, 17, 129}).get(0)
        .localFloats(), "the GEMM phase's scratch");
  }

  /** Every size {@code size}, except those known only at run time: -1. */
  private static long[] sizes(Kernel k, long size) {
    return k.roles().stream().filter(r -> r.kind() == Kind.SIZE)
        .mapToLong(r -> RUN_TIME.contains(r.name()) ? -1 : size).toArray();
  }

  /** What the ops.cl function of phase {@code p} of {@code k} takes, as declared. */
  private static List<String> openClParameters(Kernel k, Phase p) {
    List<String> out = new ArrayList<>();
    for (Role r : k.roles()) {
      if (r.kind() == Kind.SIZE) {
        out.add("int " + r.name());
        continue;
      }
      if (r.kind() == Kind.CONSTANT) {
        out.add("float " + r.name());
        continue;
      }
      String type = switch (r.element()) {
        case FLOAT -> "float";
        case SHORT -> "ushort";
        case INT -> "int";
        case BYTE -> fail(k + " has an OpenCL version but an int8 argument");
      };
      out.add("__global " + (r.written() ? "" : "const ") + type + "* " + r.name());
    }
    if (p.localFloats() > 0) {
      out.add("__local float* scratch");
    }
    return out;
  }

  private static String resource(String name) throws IOException {
    try (InputStream in = DeviceModel.class.getResourceAsStream(name)) {
      assertTrue(in != null, name + " is not among the runtime's resources");
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
