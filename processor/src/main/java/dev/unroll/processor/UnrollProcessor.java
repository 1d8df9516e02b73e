package dev.unroll.processor;

import com.google.auto.service.AutoService;
import dev.unroll.Family;
import dev.unroll.processor.emit.BenchmarkWriter;
import dev.unroll.processor.emit.Footprint;
import dev.unroll.processor.emit.ModelWriter;
import dev.unroll.processor.parse.TransformerDeclaration;
import dev.unroll.processor.plan.Plan;
import dev.unroll.processor.plan.Planner;
import dev.unroll.processor.validate.Problem;
import dev.unroll.processor.validate.SpecValidator;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import javax.annotation.processing.AbstractProcessor;
import javax.annotation.processing.Messager;
import javax.annotation.processing.Processor;
import javax.annotation.processing.RoundEnvironment;
import javax.lang.model.SourceVersion;
import javax.lang.model.element.AnnotationMirror;
import javax.lang.model.element.AnnotationValue;
import javax.lang.model.element.Element;
import javax.lang.model.element.ElementKind;
import javax.lang.model.element.ExecutableElement;
import javax.lang.model.element.Modifier;
import javax.lang.model.element.TypeElement;
import javax.lang.model.util.ElementFilter;
import javax.lang.model.util.Types;
import javax.tools.Diagnostic;

/**
 * Compiles {@code @Transformer} interfaces: parse, validate, plan, emit. Each error is reported on the value to
 * change; a type with any error gets no generated code. The annotation is never claimed, and an unexpected
 * failure becomes an error on the element rather than a javac crash.
 */
@AutoService(Processor.class)
public final class UnrollProcessor extends AbstractProcessor {
  private static final String RUNTIME = "dev.unroll.runtime.";

  /** The runtime interface that an interface of {@code family} extends, which the generated class implements. */
  static String runtimeInterface(Family family) {
    return RUNTIME + switch (family) {
      case GPT2, LLAMA -> "CausalLm";
      case BERT -> "TextEncoder";
      case VIT -> "ImageEncoder";
    };
  }

  @Override
  public Set<String> getSupportedAnnotationTypes() {
    return Set.of(TransformerDeclaration.ANNOTATION);
  }

  @Override
  public SourceVersion getSupportedSourceVersion() {
    return SourceVersion.latestSupported();
  }

  @Override
  public boolean process(Set<? extends TypeElement> annotations, RoundEnvironment round) {
    TypeElement annotation = processingEnv.getElementUtils().getTypeElement(TransformerDeclaration.ANNOTATION);
    if (annotation == null) {
      return false;
    }
    List<Element> elements = new ArrayList<>(round.getElementsAnnotatedWith(annotation));
    elements.sort(Comparator.comparing(Element::toString));
    for (Element element : elements) {
      AnnotationMirror mirror = mirrorOf(element);
      try {
        processOne(element, mirror);
      } catch (RuntimeException | IOException | Error e) {
        StringWriter trace = new StringWriter();
        e.printStackTrace(new PrintWriter(trace));
        processingEnv.getMessager().printMessage(Diagnostic.Kind.ERROR,
            "Unroll failed on this interface; please report it with this trace:\n" + trace, element, mirror);
      }
    }
    return false;
  }

  private void processOne(Element element, AnnotationMirror mirror) throws IOException {
    Messager messager = processingEnv.getMessager();
    if (element.getKind() != ElementKind.INTERFACE) {
      messager.printMessage(Diagnostic.Kind.ERROR, "@Transformer goes on an interface; " + element.getSimpleName()
          + " is a " + element.getKind().toString().toLowerCase(java.util.Locale.ROOT).replace('_', ' ')
          + ": declare `public interface " + element.getSimpleName() + " extends CausalLm {}`", element, mirror);
      return;
    }
    TypeElement type = (TypeElement) element;
    TransformerDeclaration declaration = TransformerDeclaration.parse(type, mirror);
    if (!typeFits(type, mirror, messager, declaration.spec().family())) {
      return;
    }
    List<Problem> problems = SpecValidator.validate(declaration.spec());
    for (Problem p : problems) {
      AnnotationValue value = p.attribute() == null ? null : declaration.value(p.attribute()).orElse(null);
      messager.printMessage(Diagnostic.Kind.ERROR, p.message(), type, mirror, value);
    }
    if (!problems.isEmpty()) {
      return;
    }
    Plan plan = Planner.plan(declaration.spec());
    ModelWriter.write(plan, type).writeTo(processingEnv.getFiler());
    processingEnv.getMessager().printMessage(Diagnostic.Kind.NOTE, Footprint.note(plan), type);
    writeBenchmarkIfAsked(declaration, plan, type, mirror);
  }

  /** {@code benchmark = true}: a JMH benchmark of the model, or an error on that value when JMH is missing. */
  private void writeBenchmarkIfAsked(TransformerDeclaration declaration, Plan plan, TypeElement type,
      AnnotationMirror mirror) throws IOException {
    AnnotationValue value = declaration.value("benchmark").orElse(null);
    if (value == null || !Boolean.TRUE.equals(value.getValue())) {
      return;
    }
    if (processingEnv.getElementUtils().getTypeElement(BenchmarkWriter.JMH_BENCHMARK) == null) {
      processingEnv.getMessager().printMessage(Diagnostic.Kind.ERROR, "benchmark = true needs JMH, but "
          + BenchmarkWriter.JMH_BENCHMARK + " is not on the compile classpath: add the dependency"
          + " org.openjdk.jmh:jmh-core (and org.openjdk.jmh:jmh-generator-annprocess to the annotation-processor"
          + " path, after unroll-processor), or remove benchmark = true", type, mirror, value);
      return;
    }
    BenchmarkWriter.write(plan, type).writeTo(processingEnv.getFiler());
  }

  /** Checks what only javac can see: the supertype, generics, nesting, and methods Unroll cannot implement. */
  private boolean typeFits(TypeElement type, AnnotationMirror mirror, Messager messager, Family family) {
    String required = runtimeInterface(family);
    String simple = required.substring(required.lastIndexOf('.') + 1);
    TypeElement runtime = processingEnv.getElementUtils().getTypeElement(required);
    if (runtime == null) {
      messager.printMessage(Diagnostic.Kind.ERROR, required + " is not on the compile classpath: add the"
          + " dependency dev.unroll:unroll-runtime", type, mirror);
      return false;
    }
    Types types = processingEnv.getTypeUtils();
    boolean ok = true;
    if (!types.isAssignable(types.erasure(type.asType()), types.erasure(runtime.asType()))) {
      messager.printMessage(Diagnostic.Kind.ERROR, type.getSimpleName() + " must extend " + simple + ", the"
          + " interface of " + family + " models: declare `interface " + type.getSimpleName() + " extends "
          + required + "`", type, mirror);
      ok = false;
    }
    if (!type.getTypeParameters().isEmpty()) {
      messager.printMessage(Diagnostic.Kind.ERROR, type.getSimpleName() + " must not be generic: a shape is"
          + " fixed; remove the type parameters", type, mirror);
      ok = false;
    }
    for (Element e = type; e.getKind() != ElementKind.PACKAGE; e = e.getEnclosingElement()) {
      if (e.getModifiers().contains(Modifier.PRIVATE)) {
        messager.printMessage(Diagnostic.Kind.ERROR, type.getSimpleName() + " must not be private (nor nested in"
            + " a private type): the generated class beside it implements it", type, mirror);
        ok = false;
        break;
      }
    }
    if (!ok) {
      return false;
    }
    for (ExecutableElement method : ElementFilter.methodsIn(processingEnv.getElementUtils().getAllMembers(type))) {
      Element owner = method.getEnclosingElement();
      boolean fromRuntime = owner.toString().startsWith(RUNTIME) || owner.toString().equals("java.lang.Object");
      if (method.getModifiers().contains(Modifier.ABSTRACT) && !fromRuntime) {
        messager.printMessage(Diagnostic.Kind.ERROR, "Unroll implements the methods of " + simple + " only; "
            + method.getSimpleName() + "() would be left unimplemented: remove it or give it a default body",
            owner.equals(type) ? method : type);
        ok = false;
      }
    }
    return ok;
  }

  private static AnnotationMirror mirrorOf(Element element) {
    for (AnnotationMirror m : element.getAnnotationMirrors()) {
      Element a = m.getAnnotationType().asElement();
      if (a instanceof TypeElement t && t.getQualifiedName().contentEquals(TransformerDeclaration.ANNOTATION)) {
        return m;
      }
    }
    return null;
  }
}
