package dev.lmspark;

import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * lmspark's packages form no cycle, across all three modules (data-prep, model, spark-jobs): each
 * package can be read, tested and changed on top of the ones below it.
 */
class PackageCyclesTest {
    @Test
    void noPackageDependsOnItselfThroughOthers() {
        JavaClasses main =
                new ClassFileImporter()
                        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                        .importPackages("dev.lmspark");
        slices().matching("dev.lmspark.(**)").should().beFreeOfCycles().check(main);
    }
}
