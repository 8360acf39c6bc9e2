/** Model configuration: a small JSON-serialisable record and the named presets of DESIGN.md. */
package dev.lmspark.model.config;
