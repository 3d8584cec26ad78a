// Package outcome is what a scenario leaves behind and how it is judged: the
// versioned outcome schema (zerodrop.outcome/v1), the request record and its
// failure classes, the timeline events as recorded, the per-path load
// statistics, and Judge, which turns evidence into a verdict.
//
// It is the one package every other one may read: the load engine writes its
// records, the runner fills an Outcome, the report renderers read them. It
// imports only the standard library, so rendering a report links nothing of
// Kubernetes.
package outcome
