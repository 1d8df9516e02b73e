package dev.unroll.processor.parse;

import dev.unroll.Family;
import dev.unroll.Platform;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.Optional;
import javax.lang.model.element.AnnotationMirror;
import javax.lang.model.element.AnnotationValue;
import javax.lang.model.element.Element;
import javax.lang.model.element.ElementKind;
import javax.lang.model.element.ExecutableElement;
import javax.lang.model.element.PackageElement;
import javax.lang.model.element.TypeElement;
import javax.lang.model.element.VariableElement;

/**
 * A {@code @Transformer} found on an element: the element, the annotation mirror and its explicit values (so
 * errors can point at the exact value), and the {@link ModelSpec} they describe.
 */
public record TransformerDeclaration(TypeElement type, AnnotationMirror annotation,
    Map<String, AnnotationValue> explicitValues, ModelSpec spec) {

  /** The attributes only encoders take: a decoder that sets one gets an encoding, which the validator refuses. */
  public static final List<String> ENCODER_ATTRIBUTES =
      List.of("classes", "pooling", "normalize", "typeVocab", "channels", "height", "width", "patch");

  /** The fully qualified name of the annotation. */
  public static final String ANNOTATION = "dev.unroll.Transformer";

  /** Reads the annotation on {@code type}; the values javac could not resolve are left at 0 for the validator. */
  public static TransformerDeclaration parse(TypeElement type, AnnotationMirror annotation) {
    Map<String, AnnotationValue> values = new HashMap<>();
    for (Map.Entry<? extends ExecutableElement, ? extends AnnotationValue> e
        : annotation.getElementValues().entrySet()) {
      values.put(e.getKey().getSimpleName().toString(), e.getValue());
    }
    int dim = intValue(values, "dim");
    Family family = family(values);
    int hidden = values.containsKey("hidden") ? intValue(values, "hidden") : ModelSpec.defaultHidden(family, dim);
    int heads = intValue(values, "heads");
    int kvHeads = values.containsKey("kvHeads") ? intValue(values, "kvHeads") : heads;
    boolean tied = !(values.get("tiedEmbeddings") != null
        && values.get("tiedEmbeddings").getValue() instanceof Boolean b && !b);
    String interfaceName = nestedName(type);
    boolean encoderValues = ENCODER_ATTRIBUTES.stream().anyMatch(values::containsKey);
    ModelSpec.Encoding encoding = family.encoder() || encoderValues ? encoding(family, values) : null;
    int context = intValue(values, "context");
    if (family == Family.VIT && !values.containsKey("context")) {
      context = encoding.patches() + 1;
    }
    ModelSpec spec = new ModelSpec(packageOf(type), interfaceName, "Unrolled" + interfaceName.replace('.', '_'),
        family, intValue(values, "vocab"), context, dim, heads, intValue(values, "layers"),
        intValue(values, "batch"), hidden, kvHeads, tied, platforms(values), encoding);
    return new TransformerDeclaration(type, annotation, Map.copyOf(values), spec);
  }

  /** The explicit value of an attribute, if it was written. */
  public Optional<AnnotationValue> value(String attribute) {
    return Optional.ofNullable(explicitValues.get(attribute));
  }

  /** An encoder's values: the annotation's, or their defaults. */
  private static ModelSpec.Encoding encoding(Family family, Map<String, AnnotationValue> values) {
    AnnotationValue pooling = values.get("pooling");
    boolean mean = pooling != null && pooling.getValue() instanceof VariableElement constant
        && constant.getSimpleName().contentEquals("MEAN");
    boolean normalize = values.get("normalize") != null && Boolean.TRUE.equals(values.get("normalize").getValue());
    // every value as written, so that the validator sees one that belongs to the other encoder
    int types = values.containsKey("typeVocab") ? intValue(values, "typeVocab") : family == Family.BERT ? 2 : 0;
    List<Integer> patch = intList(values.get("patch"));
    int patchHeight = patch.isEmpty() ? 0 : patch.get(0);
    int patchWidth = patch.size() == 1 ? patchHeight : patch.size() == 2 ? patch.get(1) : 0;
    if (patch.size() > 2) {
      patchHeight = 0; // neither one value nor two: the validator says what patch takes
    }
    return new ModelSpec.Encoding(intValue(values, "classes"), mean, normalize, types, intValue(values, "channels"),
        intValue(values, "height"), intValue(values, "width"), patchHeight, patchWidth);
  }

  /** An int array's values; an unresolved one is empty (javac reports it). */
  private static List<Integer> intList(AnnotationValue v) {
    if (v == null || !(v.getValue() instanceof List<?> list)) {
      return List.of();
    }
    List<Integer> out = new java.util.ArrayList<>();
    for (Object element : list) {
      if (!(element instanceof AnnotationValue a && a.getValue() instanceof Integer i)) {
        return List.of();
      }
      out.add(i);
    }
    return out;
  }

  private static int intValue(Map<String, AnnotationValue> values, String name) {
    AnnotationValue v = values.get(name);
    return v != null && v.getValue() instanceof Integer i ? i : 0;
  }

  private static Family family(Map<String, AnnotationValue> values) {
    AnnotationValue v = values.get("family");
    if (v != null && v.getValue() instanceof VariableElement constant) {
      return Family.valueOf(constant.getSimpleName().toString());
    }
    return Family.GPT2;
  }

  /**
   * The listed platforms: every one when the value is not written, or when javac could not resolve it (javac
   * reports that itself, so the validator must not add that the list is empty).
   */
  private static Set<Platform> platforms(Map<String, AnnotationValue> values) {
    AnnotationValue v = values.get("platforms");
    if (v == null || !(v.getValue() instanceof List<?> list)) {
      return EnumSet.allOf(Platform.class);
    }
    Set<Platform> platforms = EnumSet.noneOf(Platform.class);
    for (Object element : list) {
      if (!(element instanceof AnnotationValue a && a.getValue() instanceof VariableElement constant)) {
        return EnumSet.allOf(Platform.class);
      }
      platforms.add(Platform.valueOf(constant.getSimpleName().toString()));
    }
    return platforms;
  }

  private static String nestedName(TypeElement type) {
    StringBuilder name = new StringBuilder(type.getSimpleName());
    for (Element e = type.getEnclosingElement(); e != null && e.getKind() != ElementKind.PACKAGE;
        e = e.getEnclosingElement()) {
      name.insert(0, e.getSimpleName() + ".");
    }
    return name.toString();
  }

  private static String packageOf(TypeElement type) {
    Element e = type;
    while (!(e instanceof PackageElement)) {
      e = e.getEnclosingElement();
    }
    return ((PackageElement) e).getQualifiedName().toString();
  }
}
