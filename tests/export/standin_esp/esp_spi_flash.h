// Stand-in for ESP-IDF 4's esp_spi_flash.h (components/spi_flash/include): the mmap types that
// ESP-IDF 4's esp_partition_mmap() takes, and spi_flash_munmap(). ESP-IDF 5 moved these to the
// esp_partition component under other names; code built for it must not need this header.
#ifndef STANDIN_ESP_SPI_FLASH_H_
#define STANDIN_ESP_SPI_FLASH_H_

#include <stdint.h>

#include "esp_idf_version.h"

#if ESP_IDF_VERSION_MAJOR >= 5
#error "esp_spi_flash.h is ESP-IDF 4's: with ESP-IDF 5 use esp_partition_munmap() and ESP_PARTITION_MMAP_DATA"
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  SPI_FLASH_MMAP_DATA, /* map to data memory, allows byte-aligned access */
  SPI_FLASH_MMAP_INST, /* map to instruction memory, allows only 4-byte-aligned access */
} spi_flash_mmap_memory_t;

typedef uint32_t spi_flash_mmap_handle_t;

void spi_flash_munmap(spi_flash_mmap_handle_t handle);

#ifdef __cplusplus
}
#endif

#endif  // STANDIN_ESP_SPI_FLASH_H_
