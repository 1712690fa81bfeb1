# Compile time of torchinit's own targets (this directory and below; a parent project's targets
# are untouched). LibTorch's headers and the code they instantiate dominate every translation
# unit: each unit parses them and compiles every inline function and template it uses again. So:
#
# - Unity batches compile several sources together and pay for those headers once per batch.
#   Each file still compiles alone (-DTORCHINIT_UNITY=OFF, the fast edit-compile loop: a batch
#   recompiles whole when one of its files changes). Sources with the same flags of their own
#   share batches that carry those flags (c10d's sources, with Gloo's include folder); a source
#   whose flags no other shares (each ISA kernel) stays alone.
# - Batches never mix sources that reach torch::nn (<torch/nn/...>, <torch/optim/...>, found by
#   following includes) with sources that do not: the module headers cost ~5 s to parse and
#   their templates as much again to compile, in every batch that includes them.
# - The library (UNITY_BUILD_BATCH_SIZE 0: no limit) is two batches, one per group, which keep 2
#   cores busy, besides the sources with flags of their own. Measured on 2 cores (docs/building.md): batches of 8 in layer order cost
#   139 CPU-seconds, the two groups 78; memory peaks at 2.7 GB per compiler.
# - GCC collects its garbage when its heap grows by ggc-min-expand percent over
#   ggc-min-heapsize; a LibTorch batch reaches 2-3 GB, and collecting late saved about a tenth
#   of its compile time for 0.4 GB more memory (measured on a batch of 8: 56.9 s -> 51.9 s, peak
#   1.5 -> 1.9 GB; the library's two batches now peak at 2.7 GB each).
option(TORCHINIT_UNITY "Compile torchinit's own targets in unity batches" ON)
if(TORCHINIT_UNITY)
  set(CMAKE_UNITY_BUILD ON)
  set(CMAKE_UNITY_BUILD_BATCH_SIZE 8)
endif()
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  add_compile_options(--param=ggc-min-expand=400 --param=ggc-min-heapsize=2097152)
endif()

# CMake's own unity sources #include every file by its absolute path, so a clone of the
# repository at another path (every CI run) missed ccache for every batch, even with
# CCACHE_BASEDIR. torchinit_unity_batches() writes the batches itself, with paths relative to the
# batch file, for every unity target in this directory and below; call it once, after the last
# target. A source with compile flags of its own stays alone, as with CMake's unity build.
function(torchinit_unity_batches directory)
  get_property(targets DIRECTORY ${directory} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(target IN LISTS targets)
    get_target_property(unity ${target} UNITY_BUILD)
    get_target_property(type ${target} TYPE)
    if(unity AND NOT type STREQUAL "INTERFACE_LIBRARY")
      _torchinit_unity_batches_of(${target})
    endif()
  endforeach()
  get_property(subdirectories DIRECTORY ${directory} PROPERTY SUBDIRECTORIES)
  foreach(subdirectory IN LISTS subdirectories)
    torchinit_unity_batches(${subdirectory})
  endforeach()
endfunction()

function(_torchinit_unity_batches_of target)
  get_target_property(sources ${target} SOURCES)
  get_target_property(source_dir ${target} SOURCE_DIR)
  get_target_property(binary_dir ${target} BINARY_DIR)
  get_target_property(batch_size ${target} UNITY_BUILD_BATCH_SIZE)
  set(batch_dir ${binary_dir}/CMakeFiles/${target}.dir/unity)
  # Groups, each batched on its own: torch::nn or not, and the compile flags a source carries
  # of its own (the batch then carries them: c10d's sources share Gloo's include folder).
  set(flag_properties COMPILE_OPTIONS COMPILE_DEFINITIONS COMPILE_FLAGS INCLUDE_DIRECTORIES)
  set(kept "")
  set(groups "")
  foreach(source IN LISTS sources)
    if(source MATCHES "^\\$<" OR NOT source MATCHES "\\.(cpp|cc|cxx)$")
      list(APPEND kept ${source})
      continue()
    endif()
    get_filename_component(path ${source} ABSOLUTE BASE_DIR ${source_dir})
    set(alone FALSE)
    foreach(property SKIP_UNITY_BUILD_INCLUSION GENERATED HEADER_FILE_ONLY)
      get_source_file_property(value ${path} TARGET_DIRECTORY ${target} ${property})
      if(value)
        set(alone TRUE)
      endif()
    endforeach()
    if(alone)
      list(APPEND kept ${source})
      continue()
    endif()
    set(flags "")
    foreach(property IN LISTS flag_properties)
      get_source_file_property(value ${path} TARGET_DIRECTORY ${target} ${property})
      if(value)
        string(APPEND flags "${property}=${value}|")
      endif()
    endforeach()
    _torchinit_reaches_torch_nn(${path} uses_nn)
    string(MD5 group "${uses_nn}|${flags}")
    if(NOT DEFINED group_${group})
      # Groups without flags of their own first: the largest batches start first.
      if(flags)
        list(APPEND groups ${group})
      else()
        list(PREPEND groups ${group})
      endif()
      set(group_${group} "")
    endif()
    list(APPEND group_${group} ${path})
  endforeach()

  set(batch_files "")
  set(index 0)
  foreach(group IN LISTS groups)
    list(LENGTH group_${group} count)
    if(count LESS 2)  # a lone source stays itself
      list(APPEND kept ${group_${group}})
      continue()
    endif()
    set(content "")
    set(in_batch 0)
    set(group_batches "")
    foreach(path IN LISTS group_${group})
      file(RELATIVE_PATH relative ${batch_dir} ${path})
      string(APPEND content "#include \"${relative}\"\n")
      math(EXPR in_batch "${in_batch} + 1")
      if(in_batch EQUAL batch_size)
        _torchinit_write_batch(${batch_dir}/unity_${index}.cxx "${content}")
        list(APPEND group_batches ${batch_dir}/unity_${index}.cxx)
        math(EXPR index "${index} + 1")
        set(content "")
        set(in_batch 0)
      endif()
    endforeach()
    if(in_batch GREATER 0)
      _torchinit_write_batch(${batch_dir}/unity_${index}.cxx "${content}")
      list(APPEND group_batches ${batch_dir}/unity_${index}.cxx)
      math(EXPR index "${index} + 1")
    endif()
    list(GET group_${group} 0 first)
    foreach(property IN LISTS flag_properties)
      get_source_file_property(value ${first} TARGET_DIRECTORY ${target} ${property})
      if(value)
        set_source_files_properties(${group_batches} TARGET_DIRECTORY ${target}
                                    PROPERTIES ${property} "${value}")
      endif()
    endforeach()
    list(APPEND batch_files ${group_batches})
  endforeach()
  set_target_properties(${target} PROPERTIES UNITY_BUILD OFF SOURCES "${batch_files};${kept}")
endfunction()

# Whether `file` includes a <torch/nn/...> or <torch/optim/...> header, itself or through the
# project's own headers (quoted includes, and <torchinit/...>, looked up beside the file, in
# include/ and in src/). Remembered per file for the whole configure run.
function(_torchinit_reaches_torch_nn file out)
  get_property(known GLOBAL PROPERTY _torchinit_nn_${file} SET)
  if(known)
    get_property(result GLOBAL PROPERTY _torchinit_nn_${file})
    set(${out} ${result} PARENT_SCOPE)
    return()
  endif()
  set_property(GLOBAL PROPERTY _torchinit_nn_${file} FALSE)  # an include cycle ends here
  file(STRINGS ${file} includes REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
  set(result FALSE)
  get_filename_component(dir ${file} DIRECTORY)
  foreach(line IN LISTS includes)
    if(line MATCHES "<torch/(nn|optim)[/.]")
      set(result TRUE)
      break()
    endif()
    set(name "")
    if(line MATCHES "\"([^\"]+)\"")  # one MATCHES per if(): each one resets CMAKE_MATCH_1
      set(name ${CMAKE_MATCH_1})
    elseif(line MATCHES "<(torchinit/[^>]+)>")
      set(name ${CMAKE_MATCH_1})
    endif()
    if(name)
      foreach(root IN ITEMS ${dir} ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
        if(EXISTS ${root}/${name})
          get_filename_component(header ${root}/${name} ABSOLUTE)
          _torchinit_reaches_torch_nn(${header} header_uses_nn)
          if(header_uses_nn)
            set(result TRUE)
          endif()
          break()
        endif()
      endforeach()
      if(result)
        break()
      endif()
    endif()
  endforeach()
  set_property(GLOBAL PROPERTY _torchinit_nn_${file} ${result})
  set(${out} ${result} PARENT_SCOPE)
endfunction()

# Rewritten only when it changes, so that a reconfigure recompiles nothing.
function(_torchinit_write_batch file content)
  set(content "/* torchinit unity batch (cmake/build_speed.cmake) */\n${content}")
  if(EXISTS ${file})
    file(READ ${file} old)
    if(old STREQUAL content)
      return()
    endif()
  endif()
  file(WRITE ${file} "${content}")
endfunction()
