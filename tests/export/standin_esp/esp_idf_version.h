// Stand-in for ESP-IDF's esp_idf_version.h. ESP-IDF 5 (arduino-esp32 3.x) unless the compile says
// otherwise with -DESP_IDF_VERSION_MAJOR=4 (arduino-esp32 2.x).
#ifndef STANDIN_ESP_IDF_VERSION_H_
#define STANDIN_ESP_IDF_VERSION_H_

#ifndef ESP_IDF_VERSION_MAJOR
#define ESP_IDF_VERSION_MAJOR 5
#endif
#define ESP_IDF_VERSION_MINOR 1
#define ESP_IDF_VERSION_PATCH 0

#endif  // STANDIN_ESP_IDF_VERSION_H_
