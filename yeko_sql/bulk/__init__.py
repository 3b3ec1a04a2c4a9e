"""Many rows at once: binary COPY of Structs, chunked loads, the job worker."""
