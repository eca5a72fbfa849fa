{
  "targets": [
    {
      "target_name": "muster_placement",
      "sources": ["src/placement.c", "src/binding.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=c11", "-O3", "-Wall", "-Wextra"],
      "cflags!": ["-fno-exceptions"],
      "xcode_settings": {"OTHER_CFLAGS": ["-std=c11", "-O3"]}
    }
  ]
}
