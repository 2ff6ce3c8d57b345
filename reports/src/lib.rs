//! Reports: case trace reports (HTML, PDF, JSON, CSV; Japanese and English),
//! cross-case linkage reports, and export bundles for sharing between forces.
